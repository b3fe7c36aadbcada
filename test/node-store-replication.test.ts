import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { withLuhnDigit } from '../src/card/index.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import type { ReplicatorStatus } from '../src/replication/replicator.js';
import { type BrokerKind, type TestBroker, startBroker } from './support/brokers.js';
import { newNodeConfigIn, nodeConfigIn } from './support/node.js';
import { eventually } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

const NODES = ['box-a', 'box-b', 'box-c'];

async function storeOf(kind: BrokerKind, quorum = false) {
  const dir = tempDir();
  const users = Object.fromEntries(NODES.map((n) => [n, `pw-${n}`]));
  const broker: TestBroker = await startBroker(kind, dir, users, { fleet: 'fleet-1', store: 'store-7' });
  cleanups.push(() => broker.stop());
  const keys = provisionNodeKeys(join(dir, 'keys'), NODES);
  const nodes = new Map<string, NodeRuntime>();
  // One token key for the whole store: a card must have one token on every lane.
  const shared = await nodeConfigIn(tempDir());
  for (const nodeId of NODES) {
    const nodeDir = join(dir, nodeId);
    writeFileSync(join(dir, `${nodeId}.password`), users[nodeId]!);
    const config = await newNodeConfigIn(tempDir(), {
      nodeId,
      dataDir: join(nodeDir, 'data'),
      keys: shared.keys,
      replication: {
        fleet: 'fleet-1',
        store: 'store-7',
        brokerUrl: broker.url,
        username: nodeId,
        passwordFile: join(dir, `${nodeId}.password`),
        signingKeyFile: keys.find((k) => k.nodeId === nodeId)!.signingKeyFile,
        peers: peersOf(nodeId, keys),
        quorum: { enabled: quorum, timeoutMs: 300 },
      },
    });
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    cleanups.push(() => node.stop());
    nodes.set(nodeId, node);
  }
  const status = (nodeId: string) => nodes.get(nodeId)!.ask('replicator', { type: 'status' });
  return { nodes, status, broker };
}

const card = (n: number) => ({ pan: withLuhnDigit(`4000${String(n).padStart(11, '0')}`), expiryYymm: '2912' });

describe.each(['aedes', 'mosquitto'] as const)('a store of three nodes replicating over %s', (kind) => {
  it('replicates every journal to every peer, and a card keeps one offline limit across the store', async () => {
    const { nodes, status } = await storeOf(kind);
    const a = nodes.get('box-a')!;
    const b = nodes.get('box-b')!;
    const c = nodes.get('box-c')!;
    // The default rules allow 3 offline approvals per card per day.
    for (let i = 0; i < 3; i++) {
      const outcome = await a.pay({ idempotencyKey: `a-${i}`, amountMinor: 1_000, currency: 'EUR', card: card(42) });
      expect(outcome.decision.code).toBe('Y3');
    }
    await b.pay({ idempotencyKey: 'b-0', amountMinor: 500, currency: 'EUR', card: card(7) });
    await eventually(
      async () => {
        const [sb, sc] = await Promise.all([status('box-b'), status('box-c')]);
        const heads = (s: ReplicatorStatus) => Object.fromEntries(s.origins.map((o) => [o.origin, o.headSeq]));
        return heads(sb)['box-a'] === 3 && heads(sc)['box-a'] === 3 && heads(sc)['box-b'] === 1 ? true : undefined;
      },
      10_000,
      'the replicas to converge',
    );
    // The same card on the other lanes: their journal writers count box-a's approvals.
    // The replicators hand stored entries to their journal writers right after storing them.
    for (const node of [b, c]) {
      await eventually(
        async () => {
          const summary = await node.ask('journal-writer', { type: 'exposure' });
          return summary.peerApprovals >= 3 ? true : undefined;
        },
        5_000,
        "the peers' approvals to reach the journal writer",
      );
    }
    const onB = await b.pay({ idempotencyKey: 'b-card42', amountMinor: 1_000, currency: 'EUR', card: card(42) });
    expect(onB.decision).toMatchObject({ approved: false, code: '65', rule: 'card_count' });
    expect((await c.pay({ idempotencyKey: 'c-card42', amountMinor: 1_000, currency: 'EUR', card: card(42) })).decision.code).toBe('65');
    // Another card is unaffected.
    expect((await c.pay({ idempotencyKey: 'c-card8', amountMinor: 1_000, currency: 'EUR', card: card(8) })).decision.code).toBe('Y3');
  });
});

describe('quorum acknowledgement', () => {
  it('answers once a majority of the reachable peers hold the entry, and local-only (counted) when they cannot be reached', async () => {
    const { nodes, status, broker } = await storeOf('aedes', true);
    const a = nodes.get('box-a')!;
    // Every node announces itself online before the first decision is measured.
    await eventually(async () => ((await status('box-a')).origins.filter((o) => o.online === true).length === 2 ? true : undefined), 10_000, 'peers online');
    const first = await a.pay({ idempotencyKey: 'q-1', amountMinor: 1_000, currency: 'EUR', card: card(1) });
    expect(first.decision.code).toBe('Y3');
    expect(first.quorum).toMatchObject({ reached: true, reachable: 2, needed: 2 });
    expect(first.quorum!.held).toBeGreaterThanOrEqual(2);
    // The broker goes away: the peers still look online (their retained status is stale), so the
    // wait runs to its timeout and the decision goes out local-only, durable all the same.
    await broker.kill();
    const second = await a.pay({ idempotencyKey: 'q-2', amountMinor: 1_000, currency: 'EUR', card: card(2) });
    expect(second.decision.code).toBe('Y3');
    expect(second.entry).not.toBeNull();
    expect(second.quorum).toMatchObject({ reached: false });
    expect(second.quorum!.waitedMs).toBeGreaterThanOrEqual(250);
    expect((await status('box-a')).counters).toMatchObject({ quorum_reached: 1, quorum_local_only: 1 });
  });
});
