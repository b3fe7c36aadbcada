import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSealKeyPair } from '../src/card/index.js';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { type StoreNode, readerState, startStoreNode } from '../src/rigs/store/store-node.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { freePort } from '../src/platform/free-port.js';
import { startCentreProcess } from './support/centre-process.js';
import { centreStoreOnMosquitto } from './support/centre-store.js';
import { useTempDir } from './support/tmp.js';

/*
 * The circuit breaker in production shape: Mosquitto, `edgepay centre run` on an SQLite ledger, and
 * `edgepay node run` with a simulated reader and the POS API, online authorization on. The centre
 * stops answering (SIGSTOP: its connections stay open, nothing comes back, as over a cut bridge):
 * once the breaker is open, payments through the POS API are answered at the offline path's speed,
 * not after the online timeout; the centre back (SIGCONT), the node goes online again by itself.
 * Needs dist/ (npm run build).
 */

const tempDir = useTempDir('edgepay-online-breaker-process-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TIMEOUT_MS = 300;
const FAILURES_TO_OPEN = 3;
/** Short, so the test sees the breaker close soon after the centre returns; the default is 5000. */
const PROBE_AFTER_MS = 1_000;
/** Samples taken with the breaker open: enough for a p50 that one slow moment of a busy machine cannot move. */
const OPEN_SAMPLES = 40;

interface PosAnswer {
  readonly key: string;
  readonly ms: number;
  readonly decision: { readonly code: string; readonly mode: string; readonly approved: boolean; readonly rule: string };
}

/** One payment at the box's lane through its POS API, timed as the POS sees it; then waits for the reader to take the next card. */
async function pay(node: StoreNode, key: string, amountMinor: number): Promise<PosAnswer> {
  const started = performance.now();
  const response = await fetch(`${node.apiUrl}/v1/payments`, {
    method: 'POST',
    headers: { ...node.apiHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ lane: 'lane-1', amountMinor, currency: 'EUR', reference: key, idempotencyKey: key }),
  });
  const ms = performance.now() - started;
  const body = (await response.json()) as { decision?: PosAnswer['decision'] | null };
  if (response.status !== 201 || body.decision === null || body.decision === undefined) throw new Error(`payment ${key}: ${response.status} ${JSON.stringify(body)}`);
  await expect.poll(() => readerState(node.apiUrl, node.apiHeaders), { timeout: 10_000, interval: 10 }).toBe('ready');
  return { key, ms, decision: body.decision };
}

async function breakerState(node: StoreNode): Promise<string | undefined> {
  const status = (await (await fetch(`${node.statusUrl}/status.json`)).json()) as { centre?: { onlineBreaker?: { state: string } | null } };
  return status.centre?.onlineBreaker?.state;
}

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const figures = (answers: readonly PosAnswer[]): string => {
  const ms = answers.map((a) => a.ms);
  return `p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms (n=${ms.length})`;
};

describe('the online circuit breaker, with a real broker, centre and node', () => {
  it('a centre that stops answering: after failuresToOpen payments, the POS gets offline decisions at once, recorded as any offline decision; the centre back, the node goes online again', async () => {
    const dir = tempDir();
    const { broker, centreConfig, keys, centreAnswerKey } = await centreStoreOnMosquitto(dir, cleanups);
    const centre = startCentreProcess(centreConfig, cleanups);
    await expect.poll(() => centre.output(), { timeout: 10_000 }).toContain('centre taking batches');
    cleanups.push(() => centre.child.kill('SIGCONT'));

    const nodeDir = join(dir, 'box-1');
    mkdirSync(nodeDir);
    writeFileSync(join(nodeDir, 'token.key'), randomBytes(32).toString('base64'));
    writeFileSync(join(nodeDir, 'centre.pub'), Buffer.from((await generateSealKeyPair()).publicKey).toString('base64'));
    const node = await startStoreNode({
      id: 'box-1',
      dir: nodeDir,
      seed: 1,
      cards: 'good',
      transport: 'unix',
      apiPort: await freePort(),
      statusPort: await freePort(),
      keepStdout: true,
      config: {
        nodeId: 'box-1',
        dataDir: 'data',
        keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true },
        replication: { fleet: 'fleet-1', store: 'store-3', brokerUrl: broker.url, username: 'box-1', passwordFile: join(dir, 'box-1.pw'), signingKeyFile: keys[0]!.signingKeyFile },
        centre: {
          store: 'store-3',
          intervalMs: 60_000,
          answerTimeoutMs: 2_000,
          online: { enabled: true, timeoutMs: TIMEOUT_MS, failuresToOpen: FAILURES_TO_OPEN, probeAfterMs: PROBE_AFTER_MS },
          signingPublicKeyFile: centreAnswerKey,
        },
        log: { level: 'info' },
      },
    });
    cleanups.push(() => node.stop());
    let n = 0;
    // Amounts under the default floor limit: approved offline (Y3) while the centre is away.
    const next = (phase: string): Promise<PosAnswer> => pay(node, `${phase}-${n}`, 1_000 + n++);

    // Online: the centre decides.
    const online: PosAnswer[] = [];
    for (let i = 0; i < 15; i++) online.push(await next('online'));
    expect(online.map((a) => a.decision.mode)).toEqual(online.map(() => 'online'));
    expect(await breakerState(node)).toBe('closed');

    // The centre stops answering: the first payments wait the online timeout, then the breaker opens.
    centre.child.kill('SIGSTOP');
    const timedOut: PosAnswer[] = [];
    while ((await breakerState(node)) === 'closed') {
      expect(timedOut.length, 'the breaker opens within failuresToOpen unanswered payments').toBeLessThan(FAILURES_TO_OPEN);
      timedOut.push(await next('timed-out'));
    }
    expect(timedOut).toHaveLength(FAILURES_TO_OPEN);
    for (const answer of timedOut) {
      expect(answer.decision).toMatchObject({ mode: 'offline', approved: true, code: 'Y3' });
      expect(answer.ms).toBeGreaterThanOrEqual(TIMEOUT_MS);
    }

    // Open: decided offline without waiting for the centre (its probes fail in the background).
    const open: PosAnswer[] = [];
    for (let i = 0; i < OPEN_SAMPLES; i++) open.push(await next('open'));
    expect(await breakerState(node)).not.toBe('closed');
    for (const answer of open) expect(answer.decision).toMatchObject({ mode: 'offline', approved: true, code: 'Y3', rule: timedOut[0]!.decision.rule });
    const openMs = open.map((a) => a.ms);
    console.info(`POS latency: online ${figures(online)}; centre stopped, before the breaker opened ${figures(timedOut)}; breaker open ${figures(open)}`);
    expect(percentile(openMs, 50)).toBeLessThan(TIMEOUT_MS / 2);

    // The centre answers again: a probe gets its answer and payments go online again.
    centre.child.kill('SIGCONT');
    const backAt = performance.now();
    const after: PosAnswer[] = [];
    await expect
      .poll(
        async () => {
          after.push(await next('after'));
          return after.at(-1)!.decision.mode;
        },
        { timeout: 40_000, interval: 200 },
      )
      .toBe('online');
    console.info(`online again ${Math.round(performance.now() - backAt)} ms after the centre came back (probeAfterMs ${PROBE_AFTER_MS}, doubled per unanswered probe)`);
    expect(await breakerState(node)).toBe('closed');

    const metrics = await (await fetch(`${node.statusUrl}/metrics`)).text();
    expect(metrics).toMatch(/^edgepay_centre_online_breaker_state\{state="closed"\} 1$/m);
    expect(metrics).toMatch(/^edgepay_centre_online_breaker_state\{state="open"\} 0$/m);
    const counted = (from: string, to: string): number => Number(new RegExp(`^edgepay_centre_online_breaker_transitions_total\\{from="${from}",to="${to}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
    // Once open for the outage (a centre still catching up may open it again for a moment).
    expect(counted('closed', 'open')).toBeGreaterThanOrEqual(1);
    expect(counted('half_open', 'closed')).toBe(counted('closed', 'open'));
    expect(counted('open', 'half_open')).toBe(counted('half_open', 'closed') + counted('half_open', 'open'));

    await node.stop();
    centre.child.kill('SIGTERM');
    expect(await centre.exited).toBe(0);

    // Each transition logged once.
    const logged = readFileSync(join(nodeDir, 'node.stdout'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"breaker":'))
      .map((line) => (JSON.parse(line) as { breaker: string }).breaker);
    expect(logged.filter((state) => state === 'open')).toHaveLength(counted('closed', 'open') + counted('half_open', 'open'));
    expect(logged.filter((state) => state === 'half_open')).toHaveLength(counted('open', 'half_open'));
    expect(logged.filter((state) => state === 'closed')).toHaveLength(counted('half_open', 'closed'));

    // Journaled as every offline decision; the centre was asked about none of the breaker's payments.
    const reader = new JournalReader(node.journalPath, 'box-1');
    const entries = reader.read(1, 10_000);
    reader.close();
    const entryOf = (key: string) => entries.find((e) => e.idempotencyKey === key)!;
    const shape = (key: string) => {
      const { kind, decision } = entryOf(key);
      return { kind, mode: decision.mode, code: decision.code, rule: decision.rule, approved: decision.approved };
    };
    for (const answer of open) expect(shape(answer.key)).toEqual(shape(timedOut[0]!.key));
    const ledger = SqliteLedger.open(join(dir, 'ledger.db'));
    cleanups.push(() => ledger.close());
    for (const answer of open) expect(await ledger.onlineStatus('box-1', answer.key)).toBeUndefined();
    for (const answer of online) expect(await ledger.onlineStatus('box-1', answer.key)).toBe('approved');
  }, 180_000);
});
