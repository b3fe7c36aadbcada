import { describe, expect, it } from 'vitest';
import { JournalReader } from '../src/journal/journal-reader.js';
import { ManualClock } from '../src/platform/clock.js';
import { Counters } from '../src/wire/counters.js';
import { generateNodeKeyPair } from '../src/wire/keys.js';
import { silentLog } from '../src/platform/replication-log.js';
import { type NodeStatus, sealStatus } from '../src/wire/messages.js';
import type { MqttPort } from '../src/replication/broker/port.js';
import { RepairAnswerer } from '../src/replication/repair/repair-answerer.js';
import { RepairPlanner } from '../src/replication/repair/repair-planner.js';
import { openReplicaDatabase } from '../src/replication/replicas/replica-db.js';
import { ReplicaStore } from '../src/replication/replicas/replica-store.js';
import { StatusReporter } from '../src/replication/peers/status.js';
import { Subscriber } from '../src/replication/replicas/subscriber.js';
import { StoreTopics } from '../src/wire/topics.js';

/*
 * A newcomer reads each peer's retained status when it subscribes. A status published at that same
 * moment can be missed (the retained copy read just before it replaced), and the newcomer would
 * believe an old head until the next heartbeat. So peers say their head again when a peer comes
 * online: these are the two halves of that.
 */
const topics = new StoreTopics('acme', 'store-42');

function recordingPort(): MqttPort & { sent: { topic: string; payload: Buffer }[]; settle: (() => void)[] } {
  const sent: { topic: string; payload: Buffer }[] = [];
  const settle: (() => void)[] = [];
  return {
    sent,
    settle,
    connected: true,
    publish: (topic, payload) => {
      sent.push({ topic, payload });
      return new Promise<void>((resolve) => settle.push(resolve));
    },
  };
}

describe('a peer coming online is answered with a fresh status', () => {
  it('the subscriber reports a peer turning online once per turn, not on each head change', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const port = recordingPort();
    const db = openReplicaDatabase(':memory:', 'lane-1');
    const store = new ReplicaStore(db);
    const counters = new Counters();
    const common = { nodeId: 'lane-1', topics, store, port, counters, log: silentLog };
    const self = generateNodeKeyPair();
    const answerer = new RepairAnswerer({ ...common, journal: new JournalReader('/nonexistent/journal.db', 'lane-1'), signingKey: self.privateKey, clock, maxAnswerEntries: 64, maxAnswersInFlight: 64 });
    const online: string[] = [];
    const lane2 = generateNodeKeyPair();
    const subscriber = new Subscriber({
      ...common,
      keys: new Map([['lane-2', lane2.publicKey]]),
      answerer,
      planner: new RepairPlanner({ maxRangeEntries: 64, retryAfterMs: 100, lagGraceMs: 50 }),
      clock,
      signingKey: self.privateKey,
      onPeerOnline: (peer) => online.push(peer),
    });
    const session = clock.wallMs();
    let n = 0;
    const status = (isOnline: boolean, headSeq: number, s = session) => sealStatus({ nodeId: 'lane-2', online: isOnline, headSeq, wallMs: clock.wallMs(), session: s, n: n++ }, lane2.privateKey);

    subscriber.handle(topics.status('lane-2'), status(true, 0));
    subscriber.handle(topics.status('lane-2'), status(true, 4));
    expect(online).toEqual(['lane-2']);
    subscriber.handle(topics.status('lane-2'), status(false, 4));
    // Back online: a new connection, a new session.
    subscriber.handle(topics.status('lane-2'), status(true, 4, session + 1));
    expect(online).toEqual(['lane-2', 'lane-2']);
    // A status of an unknown node, or this node's own, is no peer coming online.
    const mallory = generateNodeKeyPair();
    const signed = (nodeId: string, key: typeof mallory.privateKey): Buffer => sealStatus({ nodeId, online: true, headSeq: 1, wallMs: clock.wallMs(), session, n: 0 } satisfies NodeStatus, key);
    subscriber.handle(topics.status('mallory'), signed('mallory', mallory.privateKey));
    subscriber.handle(topics.status('lane-1'), signed('lane-1', self.privateKey));
    expect(online).toEqual(['lane-2', 'lane-2']);
    expect(counters.get('status_unknown_node')).toBe(1);
    db.close();
  });

  it('refresh sends the head at once inside the minimum interval, and not twice while one is on its way', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const port = recordingPort();
    let head = 3;
    const reporter = new StatusReporter({
      nodeId: 'lane-1',
      topic: topics.status('lane-1'),
      port,
      clock,
      log: silentLog,
      minIntervalMs: 60_000,
      heartbeatMs: 600_000,
      headSeq: () => head,
      signingKey: generateNodeKeyPair().privateKey,
    });
    reporter.tick();
    expect(port.sent).toHaveLength(1);
    port.settle.shift()?.();
    await Promise.resolve();

    head = 4;
    reporter.tick();
    expect(port.sent).toHaveLength(1); // a head change inside the minimum interval waits
    reporter.refresh();
    reporter.refresh();
    expect(port.sent).toHaveLength(2);
    expect(JSON.parse(port.sent[1]!.payload.toString())).toMatchObject({ nodeId: 'lane-1', online: true, headSeq: 4 });
    port.settle.shift()?.();
    await Promise.resolve();
    reporter.refresh();
    expect(port.sent).toHaveLength(3);
  });

  it('keeps its heartbeat when the wall clock is stepped back: intervals run on monotonic time', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const port = recordingPort();
    const reporter = new StatusReporter({
      nodeId: 'lane-1',
      topic: topics.status('lane-1'),
      port,
      clock,
      log: silentLog,
      minIntervalMs: 250,
      heartbeatMs: 5_000,
      headSeq: () => 7,
      signingKey: generateNodeKeyPair().privateKey,
    });
    reporter.tick();
    port.settle.shift()?.();
    await Promise.resolve();
    // NTP steps the clock back ten minutes; five seconds later the heartbeat is due all the same.
    clock.setWallMs(clock.wallMs() - 600_000);
    clock.advance(5_000);
    reporter.tick();
    expect(port.sent).toHaveLength(2);
  });
});
