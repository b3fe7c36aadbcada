import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ActorHandle } from '../src/actors/actor.js';
import type { SupervisorHandle } from '../src/actors/supervisor.js';
import { withLuhnDigit } from '../src/card/index.js';
import { Journal, verifyChain } from '../src/journal/index.js';
import { journalPathOf } from '../src/config/node-config.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { newNodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();

function payment(key: string, n: number) {
  return { idempotencyKey: key, amountMinor: 100 + (n % 900), currency: 'EUR', card: { pan: withLuhnDigit(`4000${String(n % 5000).padStart(11, '0')}`), expiryYymm: '2912' } };
}

function actorOf(node: NodeRuntime, id: string): ActorHandle<unknown, unknown> | undefined {
  return node.supervisor.whereis<SupervisorHandle>('payments')?.whereis<ActorHandle<unknown, unknown>>(id);
}

describe('the node as a supervision tree', () => {
  it('starts journal writer then intake, takes payments, and stops them in reverse order', async () => {
    const config = await newNodeConfigIn(tempDir());
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    const payments = node.supervisor.whereis<SupervisorHandle>('payments')!;
    expect(payments.children().map((c) => [c.id, c.state])).toEqual([
      ['journal-writer', 'running'],
      ['intake', 'running'],
    ]);
    const outcome = await node.pay(payment('first', 1));
    expect(outcome.decision).toMatchObject({ approved: true, code: 'Y3' });
    expect(outcome.entry).toMatchObject({ seq: 1, cardLast4: payment('first', 1).card.pan.slice(-4) });
    await expect(node.stop()).resolves.toMatchObject({ cause: 'shutdown' });
    await expect(node.pay(payment('late', 2))).rejects.toMatchObject({ code: 'EDGEPAY_NODE_STOPPING' });
  });

  it('gives domain errors from inside the actors back with their own codes', async () => {
    const config = await newNodeConfigIn(tempDir());
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    await node.pay(payment('dup', 1));
    await expect(node.pay({ ...payment('dup', 1), amountMinor: 99_999 })).rejects.toMatchObject({ code: 'EDGEPAY_IDEMPOTENCY_CONFLICT' });
    await expect(node.pay({ ...payment('bad', 1), amountMinor: 1.5 })).rejects.toMatchObject({ code: 'EDGEPAY_BAD_INPUT' });
    await expect(node.pay({ ...payment('badcard', 1), card: { pan: '12', expiryYymm: '2912' } })).rejects.toMatchObject({ code: 'EDGEPAY_CARD_INVALID' });
    await node.stop();
  });

  it('loses no acknowledged decision while the journal writer and the intake actor are killed again and again', async () => {
    const config = await newNodeConfigIn(tempDir(), { actors: { intensity: 1_000, periodMs: 1_000 } });
    const registry = new Registry();
    const node = await NodeRuntime.start({ config, registry });
    const acknowledged = new Map<string, number>();
    const failures = new Map<string, number>();
    let running = true;
    let serial = 0;
    const lane = async () => {
      while (running) {
        const n = serial++;
        const key = `p-${n}`;
        try {
          const outcome = await node.pay(payment(key, n));
          if (outcome.entry) acknowledged.set(key, outcome.entry.seq);
          else failures.set('no-entry', (failures.get('no-entry') ?? 0) + 1);
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'unknown';
          failures.set(code, (failures.get(code) ?? 0) + 1);
        }
      }
    };
    const lanes = Array.from({ length: 24 }, lane);
    let kills = 0;
    for (let round = 0; round < 8; round++) {
      await new Promise((resolve) => setTimeout(resolve, 120));
      const victim = round % 2 === 0 ? 'journal-writer' : 'intake';
      // On a loaded machine a restart can take longer than the pause: kill it once it is back.
      let handle = actorOf(node, victim);
      for (const deadline = Date.now() + 10_000; !handle && Date.now() < deadline; handle = actorOf(node, victim)) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      if (handle) {
        await handle.stop(0);
        kills++;
      }
    }
    // Keep paying until a good number of decisions went through the restarts (slow on a loaded box).
    for (const deadline = Date.now() + 20_000; acknowledged.size < 100 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    running = false;
    await Promise.all(lanes);
    await node.stop();

    expect(kills).toBe(8);
    expect(acknowledged.size).toBeGreaterThan(100);
    // While an actor restarts, callers wait and retry with the same key; nothing may be left hanging or 91-declined.
    expect(Object.fromEntries(failures)).toEqual({});
    const metrics = await registry.getSingleMetricAsString('edgepay_actor_restarts_total');
    expect(metrics).toMatch(/actor="journal-writer"\} [1-9]/);
    expect(metrics).toMatch(/actor="intake"\} [1-9]/);

    const journal = Journal.open({ path: journalPathOf(config), nodeId: config.nodeId });
    expect(verifyChain(journal.connection(), { nodeId: config.nodeId })).toMatchObject({ ok: true });
    for (const [key, seq] of acknowledged) expect(journal.findByIdempotencyKey(key)?.seq, key).toBe(seq);
    journal.close();
  });
});
