import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entryHash } from '../src/journal/canonical.js';
import { sealEntry, withHash } from '../src/journal/entry-builder.js';
import { GENESIS_HASH, type JournalEntry } from '../src/journal/entry.js';
import { ManualClock } from '../src/platform/clock.js';
import { Counters } from '../src/wire/counters.js';
import { encodeEnvelope, signEntry } from '../src/wire/envelope.js';
import { generateNodeKeyPair } from '../src/wire/keys.js';
import { silentLog } from '../src/platform/replication-log.js';
import { openRepairRequest, sealStatus } from '../src/wire/messages.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import type { MqttPort } from '../src/replication/broker/port.js';
import { RepairAnswerer } from '../src/replication/repair/repair-answerer.js';
import { RepairPlanner } from '../src/replication/repair/repair-planner.js';
import { openReplicaDatabase } from '../src/replication/replicas/replica-db.js';
import { ReplicaStore } from '../src/replication/replicas/replica-store.js';
import { Subscriber } from '../src/replication/replicas/subscriber.js';
import { StoreTopics } from '../src/wire/topics.js';
import { authorizationDraft } from './support/drafts.js';

/*
 * Deterministic simulation of one origin and one replica over a faulty network, with no broker:
 * the replica runs the real Subscriber, ReplicaStore (SQLite in memory) and RepairPlanner, and the
 * network drops, duplicates and reorders the origin's publishes and, for a while, its repair
 * answers. Whatever the schedule, the replica must end with the origin's exact chain, each entry
 * stored once. fast-check prints the seed of a failing schedule, which replays it.
 */

const ORIGIN = 'origin';
const REPLICA = 'replica';
const MAX_ENTRIES = 60;
const topics = new StoreTopics('fleet', 'store');
const origin = generateNodeKeyPair();
const replica = generateNodeKeyPair();

/** One chain, built and signed once; each run replicates a prefix of it. */
const chain: (JournalEntry & { signature: Buffer })[] = (() => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const entries: (JournalEntry & { signature: Buffer })[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= MAX_ENTRIES; seq++) {
    clock.advance(1_000);
    const fields = sealEntry(authorizationDraft({ amountMinor: 100 * seq }), seq, ORIGIN, clock, prevHash);
    const entry = withHash(fields, entryHash(fields));
    entries.push({ ...entry, signature: signEntry(entry, origin.privateKey) });
    prevHash = entry.hash;
  }
  return entries;
})();

type Fate = 'deliver' | 'drop' | 'duplicate';
const fate = fc.constantFrom<Fate>('deliver', 'deliver', 'drop', 'duplicate');

interface Message {
  readonly topic: string;
  readonly payload: Buffer;
}

/** Applies fates in turn (cycling) and reorders by the given sort keys. */
function network(messages: readonly Message[], fates: readonly Fate[], order: readonly number[], start: number): Message[] {
  const out: { key: number; message: Message }[] = [];
  messages.forEach((message, i) => {
    const f = fates.length === 0 ? 'deliver' : (fates[(start + i) % fates.length] as Fate);
    const copies = f === 'drop' ? 0 : f === 'duplicate' ? 2 : 1;
    for (let c = 0; c < copies; c++) out.push({ key: order.length === 0 ? i : (order[(start + i + c) % order.length] as number), message });
  });
  return out.sort((a, b) => a.key - b.key).map((o) => o.message);
}

function replicaNode(pendingPerOrigin: number, maxRangeEntries: number, clock: ManualClock) {
  const sent: Message[] = [];
  const port: MqttPort = {
    connected: true,
    publish: (topic, payload) => {
      sent.push({ topic, payload });
      return Promise.resolve();
    },
  };
  const counters = new Counters();
  const db = openReplicaDatabase(':memory:', REPLICA);
  const store = new ReplicaStore(db, { pending: { perOrigin: pendingPerOrigin, total: pendingPerOrigin }, onConflict: () => counters.increment('conflict') });
  const common = { nodeId: REPLICA, topics, store, port, counters, log: silentLog };
  const answerer = new RepairAnswerer({ ...common, journal: new JournalReader('/nonexistent/journal.db', REPLICA), signingKey: replica.privateKey, clock, maxAnswerEntries: 64, maxAnswersInFlight: 1_024 });
  const planner = new RepairPlanner({ maxRangeEntries, retryAfterMs: 100, lagGraceMs: 50 });
  const subscriber = new Subscriber({ ...common, keys: new Map([[ORIGIN, origin.publicKey]]), answerer, planner, clock, signingKey: replica.privateKey });
  return { sent, counters, store, subscriber, close: () => db.close() };
}

/** The origin's side of repair: the requested range, from its chain, into the requester's inbox. */
function answersTo(requests: readonly Message[], length: number): Message[] {
  return requests.flatMap((message) => {
    const opened = openRepairRequest(message.payload, REPLICA, new Map([[REPLICA, replica.publicKey]]));
    if (!opened.ok || message.topic !== topics.repair(REPLICA) || opened.message.origin !== ORIGIN) return [];
    const request = opened.message;
    const to = Math.min(request.toSeq, length);
    return chain.slice(request.fromSeq - 1, to).map((entry) => ({ topic: topics.inbox(request.requester), payload: encodeEnvelope(entry) }));
  });
}

describe('replica store and repair under random delivery schedules', () => {
  it('converges to the origin chain, each entry stored once, whatever is dropped, duplicated or reordered', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_ENTRIES }),
        fc.array(fate, { maxLength: 80 }),
        fc.array(fc.nat({ max: 1_000 }), { maxLength: 80 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 20 }),
        (length, fates, order, faultyRounds, pendingPerOrigin, maxRangeEntries) => {
          const clock = new ManualClock(Date.UTC(2026, 0, 2));
          const node = replicaNode(pendingPerOrigin, maxRangeEntries, clock);
          const status = { topic: topics.status(ORIGIN), payload: sealStatus({ nodeId: ORIGIN, online: true, headSeq: length, wallMs: 0, session: 0, n: 0 }, origin.privateKey) };
          const publishes = chain.slice(0, length).map((entry) => ({ topic: topics.journal(ORIGIN), payload: encodeEnvelope(entry) }));
          let inFlight = network(publishes, fates, order, 0);
          try {
            for (let round = 0; round < 400 && node.store.head(ORIGIN).seq < length; round++) {
              // The origin's retained status heartbeat reaches the replica every round.
              for (const message of [...inFlight, status]) node.subscriber.handle(message.topic, message.payload);
              const requests = node.sent.splice(0);
              const answers = answersTo(requests, length);
              inFlight = round < faultyRounds ? network(answers, fates, order, round + 1) : answers;
              clock.advance(100);
              node.subscriber.tick();
            }
            expect(node.store.head(ORIGIN)).toEqual({ seq: length, hash: chain[length - 1]!.hash });
            expect(node.store.verify(ORIGIN)).toMatchObject({ ok: true, checked: length });
            expect(node.store.range(ORIGIN, 1, length).map((e) => e.hash)).toEqual(chain.slice(0, length).map((e) => e.hash));
            expect(node.counters.get('stored')).toBe(length);
            expect(node.counters.get('conflict')).toBe(0);
            expect(node.store.pendingCount).toBe(0);
          } finally {
            node.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
