import { existsSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { apiAuthHeaders } from '../src/api/client-auth.js';
import { journalPathOf } from '../src/config/node-config.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { CardFactory } from '../src/reader/simulator/cards.js';
import { LOOPBACK_API, newNodeConfigIn } from './support/node.js';
import { eventually, startPtyPair, startSimulator } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe('promise P7 across a whole lane', () => {
  it('no full card number reaches the logs (at trace level) or the journal files', async () => {
    const dir = tempDir();
    const pty = await startPtyPair(dir);
    cleanups.push(() => pty.kill());
    const seed = 11;
    const sim = startSimulator(['reader', 'simulate', '--port', pty.readerPath, '--profile', 'edgepay-sim', '--cards', 'good,expired,bad-crc', '--seed', String(seed)]);
    cleanups.push(() => sim.stop());
    // The same seed gives the same cards the simulator will present.
    const factory = new CardFactory(seed);
    const pans = (['good', 'expired', 'bad-crc'] as const).map((kind) => factory.card(kind)!.pan);

    let logged = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    const config = await newNodeConfigIn(dir, { api: LOOPBACK_API, lanes: [{ id: 'lane-1', port: pty.nodePath, profile: 'edgepay-sim' }] });
    const auth = apiAuthHeaders(config.api);
    const node = await NodeRuntime.start({ config, registry: new Registry(), logger: pino({ level: 'trace' }, sink) });
    cleanups.push(() => node.stop());
    const post = async (key: string) => {
      const response = await fetch(`${node.apiAddress}/v1/payments`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ lane: 'lane-1', amountMinor: 999, currency: 'EUR', reference: `r-${key}`, idempotencyKey: key }),
      });
      return (await response.json()) as { status: string; card: { last4: string } };
    };
    await eventually(
      async () => {
        const lanes = (await (await fetch(`${node.apiAddress}/v1/lanes`, { headers: auth })).json()) as { lanes: { reader: { state: string } | null }[] };
        return lanes.lanes[0]?.reader?.state === 'ready' ? true : undefined;
      },
      8_000,
      'the reader',
    );
    const results = [await post('c1'), await post('c2'), await post('c3')];
    expect(results.map((r) => r.status)).toEqual(['approved', 'declined', 'approved']);
    expect(results.map((r) => r.card.last4)).toEqual(pans.map((p) => p.slice(-4)));
    await node.stop();
    cleanups.splice(
      0,
      cleanups.length,
      () => sim.stop(),
      () => pty.kill(),
    );

    expect(logged.length).toBeGreaterThan(1000);
    const journalBytes = [journalPathOf(config), `${journalPathOf(config)}-wal`]
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f).toString('latin1'))
      .join('');
    for (const pan of pans) {
      expect(logged.includes(pan), 'a PAN in the logs').toBe(false);
      // A PAN in BCD, logged as hex, is the same digit string, so this also covers raw frame dumps.
      expect(journalBytes.includes(pan), 'a PAN in the journal').toBe(false);
    }
  });
});
