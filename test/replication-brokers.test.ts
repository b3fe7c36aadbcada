import Database from 'better-sqlite3';
import { type KeyObject, createPublicKey } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type MqttClient, connect } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ActorHandle, startActor } from '../src/actors/actor.js';
import { moduleUrl } from '../src/actors/modules.js';
import { entryHash } from '../src/journal/canonical.js';
import { sealEntry, withHash } from '../src/journal/entry-builder.js';
import type { JournalEntry } from '../src/journal/entry.js';
import { Journal } from '../src/journal/journal.js';
import { systemClock } from '../src/platform/clock.js';
import type { ReplicatorTuning } from '../src/replication/config.js';
import { sealEnvelope } from '../src/wire/envelope.js';
import { generateNodeKeyPair, loadSigningKey } from '../src/wire/keys.js';
import { openRepairRequest } from '../src/wire/messages.js';
import { type ProvisionedNode, peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import type { SharedApprovals } from '../src/replication/replicas/replica-approvals.js';
import { Replicator, type ReplicatorStatus } from '../src/replication/replicator.js';
import type { ReplicatorInit, ReplicatorReply, ReplicatorRequest } from '../src/replication/replicator-protocol.js';
import { StoreTopics } from '../src/wire/topics.js';
import { StandIn } from '../src/standin/index.js';
import { type BrokerKind, TcpGate, type TestBroker, startBroker } from './support/brokers.js';
import { cardFacts } from './support/cards.js';
import { authorizationDraft } from './support/drafts.js';
import { nodeConfigIn } from './support/node.js';
import { rulesWith } from './support/stand-in.js';
import { useTempDir } from './support/tmp.js';

/*
 * One integration suite, run against the embedded aedes and a real Mosquitto (started from the
 * shipped brokers/ files): three nodes with real journals written through the StandIn, each with
 * its own Replicator, plus a fourth known key (`ghost`) whose entries the tests inject by hand.
 */

const LANES = ['lane-1', 'lane-2', 'lane-3'] as const;
type Lane = (typeof LANES)[number];
const GHOST = 'ghost';
const FLEET = 'acme';
const STORE = 'store-42';
const topics = new StoreTopics(FLEET, STORE);
const password = (user: string) => `secret-${user}`;
const USERS = Object.fromEntries([...LANES, GHOST].map((u) => [u, password(u)]));
const FAST: Partial<ReplicatorTuning> = {
  reconnectPeriodMs: 100,
  connectTimeoutMs: 2_000,
  keepaliveSeconds: 5,
  statusMinIntervalMs: 50,
  // The production heartbeat: a late peer must learn fresh heads from the others' answers to its
  // online status, not from a heartbeat, which comes after the tests' waits.
  statusHeartbeatMs: 30_000,
  repairTickMs: 50,
  repairRetryMs: 300,
  repairLagGraceMs: 150,
};
const rules = rulesWith((c) => (c.node.maxStoredCount = 100_000));
const tempDir = useTempDir('edgepay-replication-');
let cardSeq = 0;

interface LaneNode {
  readonly id: Lane;
  readonly dir: string;
  readonly journal: Journal;
  readonly standIn: StandIn;
  replicator: Replicator | undefined;
}

class Fleet {
  readonly nodes = new Map<Lane, LaneNode>();
  readonly keyFiles: ProvisionedNode[];

  constructor(
    readonly root: string,
    private readonly brokerUrl: string,
    private readonly urls: Partial<Record<Lane, string>> = {},
  ) {
    this.keyFiles = provisionNodeKeys(join(root, 'keys'), [...LANES, GHOST]);
    for (const id of LANES) {
      const dir = join(root, id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'broker.pw'), `${password(id)}\n`, { mode: 0o600 });
      const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: id });
      this.nodes.set(id, { id, dir, journal, standIn: StandIn.open({ journal, rules }), replicator: undefined });
    }
  }

  node(id: Lane): LaneNode {
    return this.nodes.get(id)!;
  }

  key(id: string): KeyObject {
    return loadSigningKey(this.keyFiles.find((k) => k.nodeId === id)!.signingKeyFile);
  }

  replication(id: Lane) {
    const dir = this.node(id).dir;
    return {
      fleet: FLEET,
      store: STORE,
      brokerUrl: this.urls[id] ?? this.brokerUrl,
      passwordFile: join(dir, 'broker.pw'),
      signingKeyFile: this.keyFiles.find((k) => k.nodeId === id)!.signingKeyFile,
      peers: peersOf(id, this.keyFiles),
      inflightWindow: 64,
    };
  }

  start(...ids: Lane[]): void {
    for (const id of ids.length > 0 ? ids : LANES) {
      const node = this.node(id);
      node.replicator = Replicator.start({
        settings: { ...this.replication(id), nodeId: id, dataDir: node.dir, journalPath: node.journal.path },
        tuning: FAST,
      });
    }
  }

  async stop(id: Lane): Promise<void> {
    await this.node(id).replicator?.stop();
    this.node(id).replicator = undefined;
  }

  /** `count` offline approvals on each node, concurrently, as lanes would take them. */
  async pay(count: number, ids: readonly Lane[] = LANES): Promise<void> {
    await Promise.all(
      ids.flatMap((id) =>
        Array.from({ length: count }, () => {
          const n = ++cardSeq;
          return this.node(id).standIn.authorize({ idempotencyKey: `${id}-${n}`, amountMinor: 1_000, currency: 'EUR', card: cardFacts(n), lane: id });
        }),
      ),
    );
  }

  status(id: Lane): ReplicatorStatus {
    return this.node(id).replicator!.status();
  }

  /** Every running node holds every other node's exact chain up to its journal head. */
  converged(ids: readonly Lane[] = LANES): boolean {
    return ids.every((holder) =>
      LANES.filter((o) => o !== holder).every((origin) => {
        const head = this.node(origin).journal.chainHead();
        const replica = this.node(holder).replicator?.replicas.head(origin);
        return replica?.seq === head.seq && replica.hash === head.hash;
      }),
    );
  }

  async waitConverged(ids: readonly Lane[] = LANES): Promise<void> {
    await waitFor(
      () => this.converged(ids),
      'replicas to converge',
      () => ids.map((id) => this.node(id).replicator?.status()),
    );
    for (const holder of ids) {
      for (const origin of LANES.filter((o) => o !== holder)) {
        expect(this.node(holder).replicator!.replicas.verify(origin)).toMatchObject({ ok: true, checked: this.node(origin).journal.chainHead().seq });
      }
    }
  }

  async close(): Promise<void> {
    for (const node of this.nodes.values()) {
      await node.replicator?.stop();
      await node.standIn.idle();
      node.journal.close();
    }
  }
}

/** Reads until `done` holds, or fails naming what it waited for and the last reading. */
async function pollUntil<T>(read: () => T | Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value, null, 1).slice(0, 3_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function waitFor(condition: () => boolean, what: string, explain: () => unknown = () => undefined): Promise<void> {
  await pollUntil(
    () => (condition() ? true : (explain() ?? false)),
    (v) => v === true,
    what,
  );
}

async function rawClient(url: string, user: string, secret: string, clientId: string, protocolVersion: 4 | 5 = 4): Promise<MqttClient> {
  const client = connect(url, { clientId, username: user, password: secret, clean: true, protocolVersion, reconnectPeriod: 0, connectTimeout: 2_000 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
  return client;
}

/** A new entry in `origin`'s name after `prev`, signed with `key`: what a forger or a stolen key would send. */
function entryAfter(origin: string, prev: { seq: number; hash: string }, key: KeyObject, amountMinor = 777): Buffer {
  const fields = sealEntry(authorizationDraft({ amountMinor }), prev.seq + 1, origin, systemClock, prev.hash);
  return sealEnvelope(withHash(fields, entryHash(fields)), key);
}

/** The actor runs compiled code from dist/: a copy older than its source would test old code. */
/** The actor runs compiled code: `npm test` builds first; moduleUrl fails with the fix if dist/ is missing. */
function distIsFresh(): void {
  moduleUrl('app/actors/replicator');
}

describe.each<BrokerKind>(['aedes', 'mosquitto'])('replication through %s', (kind) => {
  let broker: TestBroker;
  let fleet: Fleet | undefined;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeEach(async () => {
    const root = tempDir();
    broker = await startBroker(kind, root, USERS, { fleet: FLEET, store: STORE });
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await fleet?.close();
    fleet = undefined;
    await broker.stop();
  });

  const newFleet = (urls: Partial<Record<Lane, string>> = {}) => (fleet = new Fleet(tempDir(), broker.url, urls));
  const raw = async (user: string, clientId: string, version: 4 | 5 = 4) => {
    const client = await rawClient(broker.url, user, password(user), clientId, version);
    cleanups.push(() => client.endAsync(true));
    return client;
  };

  it('converges: every node holds every other node’s exact chain', async () => {
    const f = newFleet();
    f.start();
    await f.pay(15);
    await f.waitConverged();
    // Peers can hold an entry before its PUBACK is back at the origin.
    await waitFor(() => LANES.every((id) => f.status(id).outbox.ackedSeq === 15), 'every outbox to be acknowledged');
    for (const id of LANES) {
      const status = f.status(id);
      expect(status.connected).toBe(true);
      expect(status.outbox).toMatchObject({ ackedSeq: 15, journalHeadSeq: 15, lag: 0 });
      expect(status.counters).toMatchObject({ malformed: 0, unknown_key: 0, bad_signature: 0, bad_hash: 0, conflict: 0, wrong_topic: 0 });
    }
  });

  it('a partitioned node keeps authorizing, and everything converges after healing', async () => {
    const gate = await TcpGate.open(broker.port);
    cleanups.push(() => gate.close());
    const f = newFleet({ 'lane-3': gate.url });
    f.start();
    await f.pay(5);
    await f.waitConverged();
    gate.block();
    await waitFor(() => !f.status('lane-3').connected, 'lane-3 to notice the partition');
    const started = Date.now();
    await f.pay(10);
    expect(Date.now() - started).toBeLessThan(2_000);
    await waitFor(() => f.status('lane-1').origins.find((o) => o.origin === 'lane-2')?.headSeq === 15, 'lane-1 and lane-2 to replicate each other');
    expect(f.node('lane-1').replicator!.replicas.head('lane-3').seq).toBe(5);
    gate.unblock();
    await f.waitConverged();
  });

  it('stores duplicated, reordered and missing entries once, in order, via the pending buffer and repair', async () => {
    const f = newFleet();
    f.start();
    const ghostDir = join(f.root, GHOST);
    const ghost = Journal.open({ path: join(ghostDir, 'journal.db'), nodeId: GHOST });
    cleanups.push(() => ghost.close());
    for (let i = 0; i < 20; i++) ghost.append(authorizationDraft());
    const entries: JournalEntry[] = [...ghost.entries()];
    const key = f.key(GHOST);
    // The injector is the ghost origin: its journal topic, and answers to repair requests.
    const injector = await raw(GHOST, 'ghost-injector');
    // Each node asks on its own repair topic, signed; the injector answers what it asks of the ghost.
    await injector.subscribeAsync(topics.everyNode('repair'), { qos: 1 });
    const lanePublicKeys = new Map(LANES.map((id) => [id, createPublicKey(f.key(id))]));
    injector.on('message', (topic, payload) => {
      const node = topics.parse(topic)?.node ?? '';
      const opened = openRepairRequest(payload, node, lanePublicKeys);
      if (!opened.ok || opened.message.origin !== GHOST) return;
      const request = opened.message;
      for (const entry of entries.slice(request.fromSeq - 1, request.toSeq)) void injector.publishAsync(topics.inbox(request.requester), sealEnvelope(entry, key), { qos: 1 });
    });
    await waitFor(() => LANES.every((id) => f.status(id).connected), 'nodes to connect');
    // 5 and 6 never come on the journal topic; 1, 10 and 20 come twice; the rest out of order.
    for (const seq of [20, 3, 1, 7, 1, 2, 9, 8, 4, 10, 12, 11, 10, 13, 15, 14, 16, 18, 17, 19, 20]) {
      await injector.publishAsync(topics.journal(GHOST), sealEnvelope(entries[seq - 1]!, key), { qos: 1 });
    }
    await waitFor(
      () => LANES.every((id) => f.node(id).replicator!.replicas.head(GHOST).seq === 20),
      'the ghost chain everywhere',
      () => LANES.map((id) => f.status(id)),
    );
    // The journal topic's own three duplicates (1, 10, 20), whatever repair answers add.
    await waitFor(() => LANES.every((id) => f.status(id).counters.duplicate >= 3), 'the duplicates to be seen');
    for (const id of LANES) {
      const replicas = f.node(id).replicator!.replicas;
      expect(replicas.range(GHOST, 1, 100).map((e) => [e.seq, e.hash])).toEqual(entries.map((e) => [e.seq, e.hash]));
      expect(replicas.verify(GHOST)).toMatchObject({ ok: true, checked: 20 });
      const counters = f.status(id).counters;
      expect(counters).toMatchObject({ stored: 20, conflict: 0 });
      expect(counters.pending).toBeGreaterThan(0);
      expect(counters.repair_requested).toBeGreaterThan(0);
    }
  });

  it('loses nothing when the broker dies (SIGKILL) and comes back on the same port', async () => {
    const f = newFleet();
    f.start();
    await f.pay(5);
    await f.waitConverged();
    await broker.kill();
    const started = Date.now();
    await f.pay(10);
    expect(Date.now() - started).toBeLessThan(2_000);
    await waitFor(() => LANES.every((id) => !f.status(id).connected), 'nodes to notice the broker is gone');
    await broker.start();
    await f.pay(3);
    await f.waitConverged();
    await waitFor(() => LANES.every((id) => f.status(id).outbox.ackedSeq === 18), 'every outbox to be acknowledged');
  });

  it('rejects forged, tampered, replayed, unknown-key, misplaced and malformed messages, counted by reason, never stored', async () => {
    const f = newFleet();
    f.start();
    await f.pay(3, ['lane-1']);
    await f.waitConverged();
    const lane1 = [...f.node('lane-1').journal.entries()];
    const head = f.node('lane-1').journal.chainHead();
    const asLane1 = await raw('lane-1', 'lane-1-tool');
    const asLane2 = await raw('lane-2', 'lane-2-tool');
    const intruder = generateNodeKeyPair();
    const tampered = JSON.parse(sealEnvelope(lane1[0]!, f.key('lane-1')).toString()) as { entry: { amountMinor: number } };
    tampered.entry.amountMinor = 1;
    const sends: [MqttClient, string, Buffer | string][] = [
      [asLane1, topics.journal('lane-1'), entryAfter('lane-1', head, f.key('lane-2'))], // forged: wrong key
      [asLane1, topics.journal('lane-1'), Buffer.from(JSON.stringify(tampered))], // altered after signing
      [asLane1, topics.journal('lane-1'), sealEnvelope(lane1[1]!, f.key('lane-1'))], // replayed
      [asLane1, topics.journal('lane-1'), entryAfter('lane-1', { seq: 1, hash: lane1[0]!.hash }, f.key('lane-1'))], // fork (stolen key)
      [asLane1, topics.journal('lane-1'), '{"v":1,"origin":"lane-1"'], // malformed
      [asLane1, topics.inbox('lane-2'), entryAfter('intruder', { seq: 0, hash: '0'.repeat(64) }, intruder.privateKey)], // unknown key
      [asLane2, topics.journal('lane-2'), sealEnvelope(lane1[2]!, f.key('lane-1'))], // valid, but under lane-2's name
    ];
    for (const [client, topic, payload] of sends) await client.publishAsync(topic, payload, { qos: 1 });
    const expected = { bad_signature: 1, bad_hash: 1, conflict: 1, malformed: 1 };
    await waitFor(
      () =>
        Object.entries(expected).every(([k, n]) => f.status('lane-3').counters[k as keyof typeof expected] >= n) &&
        f.status('lane-3').counters.wrong_topic >= 1 &&
        f.status('lane-1').counters.wrong_topic >= 1 &&
        f.status('lane-2').counters.unknown_key >= 1,
      'every rejection to be counted',
      () => LANES.map((id) => f.status(id).counters),
    );
    expect(f.status('lane-3').counters).toMatchObject({ ...expected, wrong_topic: 1 });
    expect(f.status('lane-2').counters).toMatchObject({ ...expected, unknown_key: 1 });
    expect(f.status('lane-1').counters).toMatchObject({ wrong_topic: 1 });
    for (const id of ['lane-2', 'lane-3'] as const) {
      const replicas = f.node(id).replicator!.replicas;
      expect(replicas.head('lane-1')).toEqual(head);
      expect(replicas.verify('lane-1')).toMatchObject({ ok: true, checked: 3 });
      expect(replicas.origins()).not.toContain('intruder');
      expect(f.status(id).counters.duplicate).toBeGreaterThanOrEqual(1);
    }
  });

  it('the broker lets a node publish only under its own topics, and only with its credentials', async () => {
    const watcher = await raw('lane-3', 'lane-3-watch');
    const seen: string[] = [];
    watcher.on('message', (_topic, payload) => seen.push(payload.toString()));
    await watcher.subscribeAsync(topics.journal('lane-1'), { qos: 1 });
    const impostor = connect(broker.url, { clientId: 'lane-2-impostor', username: 'lane-2', password: password('lane-2'), protocolVersion: 4, reconnectPeriod: 0 });
    cleanups.push(() => impostor.endAsync(true));
    await new Promise((resolve) => impostor.once('connect', resolve));
    // Mosquitto acknowledges and drops (MQTT 3.1.1 has no refusal code); aedes drops the connection.
    await Promise.race([impostor.publishAsync(topics.journal('lane-1'), 'forged', { qos: 1 }).catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
    const owner = await raw('lane-1', 'lane-1-tool');
    await owner.publishAsync(topics.journal('lane-1'), 'genuine', { qos: 1 });
    await waitFor(() => seen.includes('genuine'), 'the genuine message');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toEqual(['genuine']);
    if (kind === 'mosquitto') {
      const v5 = await raw('lane-2', 'lane-2-v5', 5);
      await expect(v5.publishAsync(topics.journal('lane-1'), 'forged', { qos: 1 })).rejects.toMatchObject({ code: 135 });
    }
    await expect(rawClient(broker.url, 'lane-2', 'wrong-password', 'lane-2-guess')).rejects.toThrow();
    await expect(rawClient(broker.url, 'nobody', 'secret-nobody', 'nobody')).rejects.toThrow();
  });

  it('publisher restart: the watermark persists, nothing is lost or sent twice', async () => {
    const f = newFleet();
    f.start();
    await f.pay(10);
    await f.waitConverged();
    await waitFor(() => f.status('lane-1').outbox.ackedSeq === 10, 'lane-1 outbox to be acknowledged');
    await f.stop('lane-1');
    const replicasDb = new Database(join(f.node('lane-1').dir, 'replicas.db'), { readonly: true });
    expect(replicasDb.prepare('SELECT seq FROM outbox_watermark').pluck().get()).toBe(10);
    replicasDb.close();
    await f.pay(10, ['lane-1']);
    await f.pay(2, ['lane-2', 'lane-3']);
    f.start('lane-1');
    await f.waitConverged();
    await waitFor(() => f.status('lane-1').outbox.ackedSeq === 20, 'lane-1 outbox to be acknowledged');
    // Only the ten new entries left the restarted outbox: it resumed after the watermark.
    expect(f.status('lane-1').outbox).toMatchObject({ ackedSeq: 20, published: 10 });
    for (const id of ['lane-2', 'lane-3'] as const) {
      expect(f.node(id).replicator!.replicas.range('lane-1', 1, 1_000)).toHaveLength(20);
      expect(f.status(id).counters.conflict).toBe(0);
    }
  });

  it('runs as an actor: status and shared approvals through requests', async () => {
    distIsFresh();
    const f = newFleet();
    f.start('lane-2', 'lane-3');
    const lane1 = f.node('lane-1');
    const cfgDir = join(lane1.dir, 'cfg');
    mkdirSync(cfgDir);
    const config = { ...(await nodeConfigIn(cfgDir, { nodeId: 'lane-1', dataDir: lane1.dir })), replication: f.replication('lane-1') };
    const init: ReplicatorInit = { config, tuning: FAST };
    const actor: ActorHandle<ReplicatorRequest, ReplicatorReply> = await startActor({ id: 'replicator', module: moduleUrl('app/actors/replicator'), mailboxCapacity: 16, init });
    cleanups.push(() => actor.stop(5_000));
    await f.pay(4);
    await actor.request({ type: 'notify' });
    await waitFor(() => f.node('lane-2').replicator!.replicas.head('lane-1').seq === 4, 'lane-1 entries on lane-2');
    const status = await pollUntil(
      async () => (await actor.request({ type: 'status' })) as ReplicatorStatus,
      (s) => s.origins.filter((o) => o.headSeq === 4).length === 2 && s.outbox.ackedSeq === 4,
      'the actor to hold both peers',
    );
    expect(status).toMatchObject({ nodeId: 'lane-1', connected: true, outbox: { ackedSeq: 4 } });
    expect(status.origins.map((o) => [o.origin, o.headSeq, o.lag])).toEqual([
      ['lane-2', 4, 0],
      ['lane-3', 4, 0],
    ]);
    const shared = (await actor.request({ type: 'approvals-since', wallMs: 0 })) as SharedApprovals;
    expect(shared.approvals.map((a) => a.origin).sort()).toEqual(['lane-2', 'lane-2', 'lane-2', 'lane-2', 'lane-3', 'lane-3', 'lane-3', 'lane-3']);
    expect(shared).toMatchObject({ releases: [], truncated: false });
  });
});
