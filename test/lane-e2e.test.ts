import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { apiAuthHeaders } from '../src/api/client-auth.js';
import { defaultRulesConfig } from '../src/authorize/index.js';
import { tokenizePan } from '../src/card/index.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { SIM_HOT_PAN } from '../src/reader/simulator/cards.js';
import { LOOPBACK_API, newNodeConfigIn, nodeConfigIn } from './support/node.js';
import { type PtyPair, type SimulatorProcess, eventually, startPtyPair, startSimulator } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** A node with one lane whose reader is the simulator on a real pty pair, and its POS API on loopback. */
async function store(cards: string) {
  const dir = tempDir();
  const pty = await startPtyPair(dir);
  cleanups.push(() => pty.kill());
  const startSim = (script: string): SimulatorProcess => {
    const sim = startSimulator(['reader', 'simulate', '--port', pty.readerPath, '--profile', 'edgepay-sim', '--cards', script, '--seed', '7']);
    cleanups.push(() => sim.stop());
    return sim;
  };
  let sim = startSim(cards);
  const base = await nodeConfigIn(dir);
  const rules = defaultRulesConfig();
  rules.hotCards = { version: 3, tokens: [tokenizePan(SIM_HOT_PAN, Buffer.from(readFileSync(base.keys.tokenKeyFile, 'utf8').trim(), 'base64'))] };
  writeFileSync(join(dir, 'rules.json'), JSON.stringify(rules));
  const config = await newNodeConfigIn(dir, { rulesFile: 'rules.json', api: LOOPBACK_API, lanes: [{ id: 'lane-1', port: pty.nodePath, profile: 'edgepay-sim' }] });
  // nodeConfigIn wrote fresh keys: put the hot token under those.
  rules.hotCards.tokens = [tokenizePan(SIM_HOT_PAN, Buffer.from(readFileSync(config.keys.tokenKeyFile, 'utf8').trim(), 'base64'))];
  writeFileSync(join(dir, 'rules.json'), JSON.stringify(rules));
  const node = await NodeRuntime.start({ config, registry: new Registry() });
  cleanups.push(() => node.stop());
  const auth = apiAuthHeaders(config.api);
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${node.apiAddress}${path}`, {
      method,
      ...(body === undefined ? { headers: auth } : { headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, any> };
  };
  const readerState = async () => ((await call('GET', '/v1/lanes')).json.lanes[0].reader?.state as string | undefined) ?? 'none';
  await eventually(async () => ((await readerState()) === 'ready' ? true : undefined), 8_000, 'the reader to be ready');
  return {
    node,
    call,
    readerState,
    pty: pty as PtyPair,
    simulator: () => sim,
    /** Plugs the reader back in, running `script` from its start. */
    replug: async (script: string) => {
      await pty.restart();
      sim = startSim(script);
    },
  };
}

const pay = (key: string, amountMinor = 1250) => ({ lane: 'lane-1', amountMinor, currency: 'EUR', reference: `receipt-${key}`, idempotencyKey: key });

describe('a lane end to end: POS API → reader on a real pty → journal → reader → POS', () => {
  it('approves, declines by rule, and answers a retried request with the original payment', async () => {
    const { call } = await store('good,expired,bad-luhn,hot');
    const approved = await call('POST', '/v1/payments', pay('p1'));
    expect(approved.status).toBe(201);
    expect(approved.json).toMatchObject({ id: 'p1', status: 'approved', decision: { code: 'Y3', approved: true }, card: { last4: expect.stringMatching(/^\d{4}$/) } });
    expect(approved.json.journalSeq).toBe(1);
    const again = await call('POST', '/v1/payments', pay('p1'));
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.journalSeq).toBe(1);
    expect((await call('POST', '/v1/payments', pay('p2'))).json).toMatchObject({ status: 'declined', decision: { code: '54', rule: 'expiry' } });
    expect((await call('POST', '/v1/payments', pay('p3'))).json).toMatchObject({ status: 'declined', decision: { code: '14', rule: 'check_digit' } });
    expect((await call('POST', '/v1/payments', pay('p4'))).json).toMatchObject({ status: 'declined', decision: { code: '05', rule: 'hot_card' } });
    expect((await call('GET', '/v1/payments/p1')).json.status).toBe('approved');
  });

  it('a waiting payment makes the lane busy (409) and can be cancelled', async () => {
    const { call } = await store('no-card');
    const waiting = call('POST', '/v1/payments', pay('w1'));
    await eventually(async () => ((await call('GET', '/v1/payments/w1')).json.status === 'waiting_for_card' ? true : undefined), 5_000, 'the payment to wait for a card');
    const busy = await call('POST', '/v1/payments', pay('w2'));
    expect(busy.status).toBe(409);
    expect(busy.json.error).toMatchObject({ code: 'EDGEPAY_LANE_BUSY', message: expect.stringContaining('w1') });
    const cancelled = await call('POST', '/v1/payments/w1/cancel');
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.status).toBe('cancelled');
    expect((await waiting).json).toMatchObject({ id: 'w1', status: 'cancelled', decision: null, journalSeq: null });
  });

  it('a reader unplugged mid-transaction ends the payment as failed (no decision), and the lane works again when it returns', async () => {
    const lane = await store('no-card');
    const waiting = lane.call('POST', '/v1/payments', pay('u1'));
    await eventually(async () => ((await lane.call('GET', '/v1/payments/u1')).json.status === 'waiting_for_card' ? true : undefined), 5_000, 'the card wait');
    await lane.pty.kill();
    const failed = await waiting;
    expect(failed.json).toMatchObject({ status: 'failed', decision: null, journalSeq: null, error: { code: 'EDGEPAY_READER_LOST' } });
    await eventually(async () => ((await lane.readerState()) === 'disconnected' ? true : undefined), 5_000, 'the lane to report the reader gone');
    expect((await lane.call('POST', '/v1/payments', pay('u2'))).status).toBe(503);
    await lane.replug('good');
    await eventually(async () => ((await lane.readerState()) === 'ready' ? true : undefined), 10_000, 'the reader to come back');
    const after = await lane.call('POST', '/v1/payments', pay('u3'));
    expect(after.json).toMatchObject({ status: 'approved', decision: { code: 'Y3' } });
    // Neither the unplugged payment nor the refused one left a journal entry: this is the first.
    expect(after.json.journalSeq).toBe(1);
  });
});
