import fc from 'fast-check';
import { type KeyObject, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JournalReader } from '../src/journal/journal-reader.js';
import { ManualClock } from '../src/platform/clock.js';
import { CONTROL_CONTEXTS, controlSignedBytes } from '../src/wire/control-codec.js';
import { Counters } from '../src/wire/counters.js';
import { type KeyRing, generateNodeKeyPair } from '../src/wire/keys.js';
import { silentLog } from '../src/platform/replication-log.js';
import { type NodeStatus, type OpenedControl, openAck, openRepairRequest, openStatus, sealAck, sealRepairRequest, sealStatus } from '../src/wire/messages.js';
import type { MqttPort } from '../src/replication/broker/port.js';
import { RepairAnswerer } from '../src/replication/repair/repair-answerer.js';
import { RepairBuckets } from '../src/replication/repair/repair-budget.js';
import { RepairPlanner } from '../src/replication/repair/repair-planner.js';
import { openReplicaDatabase } from '../src/replication/replicas/replica-db.js';
import { ReplicaStore } from '../src/replication/replicas/replica-store.js';
import { StatusReporter } from '../src/replication/peers/status.js';
import { StoredSessionFloor } from '../src/replication/peers/status-session.js';
import { MAX_FUTURE_SKEW_MS, MAX_SESSION_LEAD_MS, StatusFreshness, compareStatusOrder } from '../src/replication/peers/status-order.js';
import { Subscriber } from '../src/replication/replicas/subscriber.js';
import { StoreTopics } from '../src/wire/topics.js';

/*
 * The signed control messages (status, ack, repair request) on their own: what seals opens, and
 * nothing else does (a flipped bit, another node's key, another node's topic, another kind's
 * signature); the order statuses are accepted in; the per-requester byte budget.
 */

const A = generateNodeKeyPair();
const B = generateNodeKeyPair();
const keys = new Map([
  ['node-a', A.publicKey],
  ['node-b', B.publicKey],
]);
const NOW = Date.UTC(2026, 3, 1, 12);

const nodeId = fc.constantFrom('node-a', 'node-b');
const seq = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const wallMs = fc.integer({ min: 0, max: NOW + 10 * 365 * 86_400_000 });
const keyOf = (node: string) => (node === 'node-a' ? A.privateKey : B.privateKey);

const statusArb = fc.record({ nodeId, online: fc.boolean(), headSeq: seq, wallMs, session: wallMs, n: seq });
const ackArb = fc.record({ node: nodeId, origin: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/), seq, wallMs });
const requestArb = fc
  .record({ requester: nodeId, origin: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/), fromSeq: fc.integer({ min: 1, max: 1e12 }), span: fc.nat({ max: 1e6 }) })
  .map(({ span, ...r }) => ({ ...r, toSeq: r.fromSeq + span }));

interface Kind<T> {
  readonly name: string;
  readonly values: fc.Arbitrary<T>;
  readonly signer: (value: T) => string;
  readonly seal: (value: T, key: KeyObject) => Buffer;
  readonly open: (payload: Buffer, topicNode: string, ring: KeyRing) => OpenedControl<unknown>;
}
const kind = <T>(k: Kind<T>) => ({
  name: k.name,
  sealed: k.values.map((value) => ({ value, signer: k.signer(value), payload: k.seal(value, keyOf(k.signer(value))), sealWith: (key: KeyObject) => k.seal(value, key) })),
  open: k.open,
});
const kinds = [
  kind({ name: 'status', values: statusArb, signer: (s) => s.nodeId, seal: sealStatus, open: openStatus }),
  kind({ name: 'ack', values: ackArb, signer: (a) => a.node, seal: sealAck, open: openAck }),
  kind({ name: 'repair request', values: requestArb, signer: (r) => r.requester, seal: sealRepairRequest, open: openRepairRequest }),
];

describe.each(kinds)('$name messages', ({ sealed, open: openWith }) => {
  const open = (payload: Buffer, topicNode: string) => openWith(payload, topicNode, keys);
  it("open what was sealed, on the signer's own topic, to the same content", () => {
    fc.assert(
      fc.property(sealed, ({ payload, signer, value }) => {
        expect(open(payload, signer)).toEqual({ ok: true, message: value });
      }),
      { numRuns: 200 },
    );
  });

  it('fail verification after any single bit flip', () => {
    fc.assert(
      fc.property(sealed, fc.nat(), fc.integer({ min: 0, max: 7 }), ({ payload, signer }, at, bit) => {
        const flipped = Buffer.from(payload);
        flipped[at % flipped.length]! ^= 1 << bit;
        expect(open(flipped, signer).ok).toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });

  it("are refused on another node's topic (wrong_topic), from an unknown node (unknown_node), or with another key (bad_signature)", () => {
    fc.assert(
      fc.property(sealed, ({ payload, signer, sealWith }) => {
        const other = signer === 'node-a' ? 'node-b' : 'node-a';
        expect(open(payload, other)).toMatchObject({ ok: false, reason: 'wrong_topic' });
        // The same content signed by the other node: it claims `signer`, but only `other` signed it.
        expect(open(sealWith(keyOf(other)), signer)).toMatchObject({ ok: false, reason: 'bad_signature' });
        expect(open(sealWith(generateNodeKeyPair().privateKey), signer)).toMatchObject({ ok: false, reason: 'bad_signature' });
        expect(openWith(payload, signer, new Map([[other, keys.get(other)!]]))).toMatchObject({ ok: false, reason: 'unknown_node' });
      }),
      { numRuns: 50 },
    );
  });

  it('are refused unsigned (the v1 form), malformed, or oversized, with the reason', () => {
    fc.assert(
      fc.property(sealed, ({ payload, signer }) => {
        const json = JSON.parse(payload.toString()) as Record<string, unknown>;
        delete json.sig;
        expect(open(Buffer.from(JSON.stringify({ ...json, v: 1 })), signer)).toMatchObject({ ok: false, reason: 'unsigned' });
      }),
      { numRuns: 20 },
    );
    expect(open(Buffer.from('{"v":2'), 'node-a')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(open(Buffer.from('[]'), 'node-a')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(open(Buffer.alloc(2_000, 0x20), 'node-a')).toMatchObject({ ok: false, reason: 'malformed' });
  });
});

describe('domain separation', () => {
  it('a signature made for one kind never verifies as another kind over the same fields', () => {
    const fields = ['node-a', 'node-b', 5, 6] as const;
    const contexts = Object.values(CONTROL_CONTEXTS);
    for (const signed of contexts) {
      const signature = sign(null, controlSignedBytes(signed, fields), A.privateKey);
      for (const checked of contexts) expect(verify(null, controlSignedBytes(checked, fields), A.publicKey, signature)).toBe(signed === checked);
      // Nor as an entry signature (envelope.ts signs ['edgepay/entry-signature/v1', origin, seq, hash]).
      expect(verify(null, Buffer.from(JSON.stringify(['edgepay/entry-signature/v1', ...fields.slice(1)])), A.publicKey, signature)).toBe(false);
    }
  });
});

describe('status order', () => {
  const status = (session: number, online: boolean, n: number, at = NOW): NodeStatus => ({ nodeId: 'node-a', online, headSeq: 1, wallMs: at, session, n });

  it("accepts in the node's own order whatever the arrival order; older ones are stale, equal ones redeliveries", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ session: fc.integer({ min: 0, max: 5 }), online: fc.boolean(), n: fc.nat({ max: 5 }) }), { minLength: 1, maxLength: 30 }), (arrivals) => {
        const freshness = new StatusFreshness();
        let best: NodeStatus | undefined;
        for (const a of arrivals) {
          const s = status(NOW - 60_000 + a.session, a.online, a.n);
          const verdict = freshness.admit(s, NOW);
          const expected = best !== undefined && compareStatusOrder(s, best) < 0 ? 'stale' : 'fresh';
          expect(verdict).toBe(expected);
          if (expected === 'fresh') best = s;
        }
      }),
    );
  });

  it("puts a session's last will (stamped at connect) after its heartbeats, and a new session after both", () => {
    const freshness = new StatusFreshness();
    expect(freshness.admit(status(NOW - 10_000, true, 1, NOW - 5_000), NOW)).toBe('fresh');
    expect(freshness.admit(status(NOW - 10_000, true, 7, NOW - 1_000), NOW)).toBe('fresh');
    expect(freshness.admit(status(NOW - 10_000, false, 0, NOW - 10_000), NOW)).toBe('fresh');
    // A replayed heartbeat of the ended session would put the node back online: ignored.
    expect(freshness.admit(status(NOW - 10_000, true, 7, NOW - 1_000), NOW)).toBe('stale');
    expect(freshness.admit(status(NOW - 500, true, 1), NOW)).toBe('fresh');
    // A replayed will of the old session would take the node out of the quorum count: ignored.
    expect(freshness.admit(status(NOW - 10_000, false, 0, NOW - 10_000), NOW)).toBe('stale');
  });

  it('refuses a status dated beyond the tolerance ahead, and takes one just inside it', () => {
    const freshness = new StatusFreshness();
    expect(freshness.admit(status(NOW, true, 0, NOW + MAX_FUTURE_SKEW_MS + 1), NOW)).toBe('future');
    expect(freshness.admit(status(NOW, true, 0, NOW + MAX_FUTURE_SKEW_MS), NOW)).toBe('fresh');
  });

  it('takes a session leading the clock (a node whose clock was stepped back keeps its order), within a day', () => {
    const freshness = new StatusFreshness();
    expect(freshness.admit(status(NOW + 40 * 60_000, true, 0, NOW), NOW)).toBe('fresh');
    expect(freshness.admit(status(NOW + MAX_SESSION_LEAD_MS + 1, true, 0, NOW), NOW)).toBe('future');
  });

  it("tolerates the simulation's largest wall-clock step: a status stamped just before a 10-minute step back is not refused", () => {
    expect(MAX_FUTURE_SKEW_MS).toBeGreaterThan(600_000);
    expect(new StatusFreshness().admit(status(NOW, true, 0, NOW), NOW - 600_000 - 1_000)).toBe('fresh');
  });
});

describe('the status reporter', () => {
  function reporter(clock: ManualClock) {
    const sent: Buffer[] = [];
    const port: MqttPort = { connected: true, publish: async (_topic, payload) => void sent.push(payload) };
    const options = { nodeId: 'node-a', topic: 't', port, clock, log: silentLog, minIntervalMs: 0, heartbeatMs: 1, headSeq: () => 3, signingKey: A.privateKey };
    return { sent, reporter: new StatusReporter(options), opened: (payload: Buffer) => (openStatus(payload, 'node-a', keys) as { message: NodeStatus }).message };
  }

  it('orders each status after the last, across wall-clock steps back and reconnects', async () => {
    const clock = new ManualClock(NOW);
    const { sent, reporter: r, opened } = reporter(clock);
    const order: NodeStatus[] = [opened(r.will().payload)];
    for (let i = 0; i < 6; i++) {
      clock.advance(10);
      if (i === 2) clock.setWallMs(clock.wallMs() - 600_000);
      if (i === 4) order.push(opened(r.will().payload));
      r.announce();
      await Promise.resolve();
      order.push(opened(sent.at(-1)!));
    }
    const freshness = new StatusFreshness();
    // Online statuses follow the will of their own connection; each one is accepted in turn.
    for (const s of order.filter((s) => s.online)) expect(freshness.admit(s, clock.wallMs())).toBe('fresh');
    expect(order.filter((s) => s.online).map((s) => s.session)).toEqual([...order.filter((s) => s.online).map((s) => s.session)].sort((x, y) => x - y));
  });

  it('starts every process above the last session it kept, even with the wall clock stepped back in between', () => {
    const db = openReplicaDatabase(':memory:', 'node-a');
    const floor = new StoredSessionFloor(db);
    const clock = new ManualClock(NOW);
    const sent: Buffer[] = [];
    const port: MqttPort = { connected: true, publish: async (_topic, payload) => void sent.push(payload) };
    const options = { nodeId: 'node-a', topic: 't', port, clock, log: silentLog, minIntervalMs: 0, heartbeatMs: 1, headSeq: () => 3, signingKey: A.privateKey, sessionFloor: floor };
    const first = new StatusReporter(options);
    first.will();
    first.announce();
    const before = (openStatus(sent.at(-1)!, 'node-a', keys) as { message: NodeStatus }).message;
    clock.setWallMs(NOW - 600_000);
    const second = new StatusReporter(options);
    second.announce();
    const after = (openStatus(sent.at(-1)!, 'node-a', keys) as { message: NodeStatus }).message;
    expect(compareStatusOrder(after, before)).toBeGreaterThan(0);
    expect(floor.read()).toBe(after.session);
    db.close();
  });

  it("continues after its previous process's retained status when that one is newer (clock stepped back across a restart)", async () => {
    const clock = new ManualClock(NOW);
    const { sent, reporter: r, opened } = reporter(clock);
    r.announce();
    await Promise.resolve();
    const mine = opened(sent.at(-1)!);
    const previous: NodeStatus = { ...mine, session: NOW + 300_000, n: 40 };
    r.observeOwn(previous);
    await Promise.resolve();
    const next = opened(sent.at(-1)!);
    expect(compareStatusOrder(next, previous)).toBeGreaterThan(0);
    // Its own echo changes nothing.
    const count = sent.length;
    r.observeOwn(next);
    expect(sent).toHaveLength(count);
  });
});

describe('the subscriber with signed control messages', () => {
  function node(clock: ManualClock) {
    const counters = new Counters();
    const sent: { topic: string; payload: Buffer }[] = [];
    const port: MqttPort = { connected: true, publish: async (topic, payload) => void sent.push({ topic, payload }) };
    const db = openReplicaDatabase(':memory:', 'node-c');
    const store = new ReplicaStore(db);
    const topics = new StoreTopics('f', 's');
    const C = generateNodeKeyPair();
    const common = { nodeId: 'node-c', topics, store, port, counters, log: silentLog, clock, signingKey: C.privateKey };
    const answerer = new RepairAnswerer({ ...common, journal: new JournalReader('/nonexistent/journal.db', 'node-c'), maxAnswerEntries: 64, maxAnswersInFlight: 64 });
    const acks: [string, number][] = [];
    const heard: [string, number][] = [];
    const subscriber = new Subscriber({
      ...common,
      keys,
      answerer,
      planner: new RepairPlanner(),
      onAck: (peer, s) => acks.push([peer, s]),
      onHeard: (peer, at) => heard.push([peer, at]),
    });
    return { subscriber, counters, topics, acks, heard, sent, close: () => db.close() };
  }

  it('counts an ack only for the node that signed it on its own topic; others are refused by reason', () => {
    const clock = new ManualClock(NOW);
    const { subscriber, counters, topics, acks, close } = node(clock);
    const ack = (by: string, key = keyOf(by), at = NOW) => sealAck({ node: by, origin: 'node-c', seq: 9, wallMs: at }, key);
    subscriber.handle(topics.ack('node-b'), ack('node-a')); // A's real ack replayed under B's name
    subscriber.handle(topics.ack('node-b'), ack('node-b', A.privateKey)); // B's name, A's key
    subscriber.handle(topics.ack('node-b'), Buffer.from(JSON.stringify({ v: 1, origin: 'node-c', seq: 9 }))); // the old unsigned form
    subscriber.handle(topics.ack('node-b'), ack('node-b', B.privateKey, NOW + MAX_FUTURE_SKEW_MS + 1)); // from the future
    expect(acks).toEqual([]);
    expect(counters.snapshot()).toMatchObject({ ack_wrong_topic: 1, ack_bad_signature: 1, ack_unsigned: 1, ack_future: 1 });
    subscriber.handle(topics.ack('node-b'), ack('node-b'));
    expect(acks).toEqual([['node-b', 9]]);
    close();
  });

  it('refuses a future-dated status, and counts a status inside the tolerance as heard no later than now', () => {
    const clock = new ManualClock(NOW);
    const { subscriber, counters, topics, heard, close } = node(clock);
    const status = (at: number, n: number) => sealStatus({ nodeId: 'node-a', online: true, headSeq: 0, wallMs: at, session: NOW - 1_000, n }, A.privateKey);
    subscriber.handle(topics.status('node-a'), status(NOW + 3_600_000, 0));
    expect(counters.get('status_future')).toBe(1);
    expect(subscriber.peerStatuses().has('node-a')).toBe(false);
    subscriber.handle(topics.status('node-a'), status(NOW + 60_000, 1));
    expect(heard).toEqual([['node-a', NOW]]);
    close();
  });

  it('answers no repair request whose requester is not its signer, its topic, or a known node; its own go out signed on its own topic', () => {
    const clock = new ManualClock(NOW);
    const { subscriber, counters, topics, sent, close } = node(clock);
    const request = (requester: string, key = keyOf(requester)) => sealRepairRequest({ requester, origin: 'node-c', fromSeq: 1, toSeq: 100 }, key);
    subscriber.handle(topics.repair('node-a'), request('node-b')); // names another peer
    subscriber.handle(topics.repair('node-a'), request('ghost', A.privateKey)); // names nobody
    subscriber.handle(topics.repair('ghost'), request('ghost', A.privateKey));
    subscriber.handle(topics.repair('node-a'), request('node-a', B.privateKey));
    expect(counters.snapshot()).toMatchObject({ repair_wrong_topic: 1, repair_unknown_node: 2, repair_bad_signature: 1 });
    expect(sent).toEqual([]);
    // Its own request, asked because node-a announced a head this node lacks.
    subscriber.handle(topics.status('node-a'), sealStatus({ nodeId: 'node-a', online: true, headSeq: 5, wallMs: NOW, session: NOW, n: 0 }, A.privateKey));
    clock.advance(1_000);
    subscriber.tick();
    const own = sent.find((m) => m.topic === topics.repair('node-c'))!;
    expect(openRepairRequest(own.payload, 'node-c', new Map([['node-c', generateNodeKeyPair().publicKey]]))).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(JSON.parse(own.payload.toString())).toMatchObject({ requester: 'node-c', origin: 'node-a', fromSeq: 1, toSeq: 5 });
    close();
  });
});

describe('repair byte budget', () => {
  it('never grants more than the burst plus the rate times the time elapsed, whatever is asked when', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.record({ after: fc.nat({ max: 2_000 }), bytes: fc.integer({ min: 1, max: 300_000 }) }), { maxLength: 60 }),
        (bytesPerSecond, burstBytes, asks) => {
          const buckets = new RepairBuckets({ bytesPerSecond, burstBytes });
          let now = 0;
          let granted = 0;
          for (const ask of asks) {
            now += ask.after;
            if (buckets.take('node-a', ask.bytes, now)) granted += ask.bytes;
            expect(granted).toBeLessThanOrEqual(burstBytes + (bytesPerSecond * now) / 1_000 + 1e-6);
          }
          // Another requester's budget is its own.
          expect(buckets.available('node-b', now)).toBe(burstBytes);
        },
      ),
    );
  });

  it('refills up to the burst and no further', () => {
    const buckets = new RepairBuckets({ bytesPerSecond: 1_000, burstBytes: 5_000 });
    expect(buckets.take('a', 5_000, 0)).toBe(true);
    expect(buckets.take('a', 1, 0)).toBe(false);
    expect(buckets.take('a', 1_000, 1_000)).toBe(true);
    expect(buckets.available('a', 1_000_000)).toBe(5_000);
  });
});
