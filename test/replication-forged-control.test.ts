import { type KeyObject, createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type MqttClient, connect } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../src/journal/index.js';
import type { ReplicatorTuning } from '../src/replication/config.js';
import { generateNodeKeyPair, loadSigningKey } from '../src/wire/keys.js';
import { type NodeStatus, openRepairRequest, sealAck, sealRepairRequest, sealStatus } from '../src/wire/messages.js';
import { peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import type { RepairBudget } from '../src/replication/repair/repair-budget.js';
import { Replicator } from '../src/replication/replicator.js';
import { StoreTopics } from '../src/wire/topics.js';
import { type TestBroker, startBroker } from './support/brokers.js';
import { authorizationDraft } from './support/drafts.js';
import { eventually } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

/*
 * A box in an intruder's hands (its broker password, often its key too) tries to speak for the
 * others through the control messages, on a real Mosquitto started from the shipped brokers/ files:
 * repair floods aimed at another inbox, forged and future-dated statuses, acks in another node's
 * name. Each is refused and counted, and the store keeps working for the honest nodes.
 */

const NODES = ['lane-1', 'lane-2', 'lane-3'] as const;
type Lane = (typeof NODES)[number];
const topics = new StoreTopics('f', 's');
const password = (user: string) => `pw-${user}`;
const USERS = Object.fromEntries(NODES.map((n) => [n, password(n)]));
const FAST: Partial<ReplicatorTuning> = {
  reconnectPeriodMs: 100,
  statusMinIntervalMs: 50,
  // Live nodes repeat their status often, so only a stopped one goes silent.
  statusHeartbeatMs: 100,
  repairTickMs: 50,
  repairRetryMs: 300,
  repairLagGraceMs: 150,
  custodyAfterMs: 800,
};

const tempDir = useTempDir('edgepay-forged-control-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

class Store {
  readonly replicators = new Map<Lane, Replicator>();
  readonly journals = new Map<Lane, Journal>();
  private readonly keyFiles;

  private constructor(
    readonly dir: string,
    readonly broker: TestBroker,
    private readonly repairBudget: RepairBudget | undefined,
  ) {
    this.keyFiles = provisionNodeKeys(join(dir, 'keys'), [...NODES]);
    for (const id of NODES) {
      const journal = Journal.open({ path: join(dir, id, 'journal.db'), nodeId: id });
      cleanups.push(() => journal.close());
      this.journals.set(id, journal);
      writeFileSync(join(dir, `${id}.pw`), password(id));
    }
  }

  static async open(options: { repairBudget?: RepairBudget } = {}): Promise<Store> {
    const dir = tempDir();
    const broker = await startBroker('mosquitto', dir, USERS, topics);
    cleanups.push(() => broker.stop());
    return new Store(dir, broker, options.repairBudget);
  }

  key(id: Lane): KeyObject {
    return loadSigningKey(this.keyFiles.find((k) => k.nodeId === id)!.signingKeyFile);
  }

  start(...ids: Lane[]): void {
    for (const nodeId of ids) {
      const replicator = Replicator.start({
        settings: {
          nodeId,
          dataDir: join(this.dir, nodeId),
          journalPath: join(this.dir, nodeId, 'journal.db'),
          fleet: topics.fleet,
          store: topics.store,
          brokerUrl: this.broker.url,
          username: nodeId,
          passwordFile: join(this.dir, `${nodeId}.pw`),
          signingKeyFile: this.keyFiles.find((k) => k.nodeId === nodeId)!.signingKeyFile,
          peers: peersOf(nodeId, this.keyFiles),
          inflightWindow: 64,
        },
        tuning: FAST,
        ...(this.repairBudget === undefined ? {} : { repairBudget: this.repairBudget }),
      });
      cleanups.push(() => replicator.stop());
      this.replicators.set(nodeId, replicator);
    }
  }

  node(id: Lane): Replicator {
    return this.replicators.get(id)!;
  }

  write(id: Lane, count: number): void {
    const journal = this.journals.get(id)!;
    for (let i = 0; i < count; i++) journal.append(authorizationDraft({ amountMinor: 100 + i }));
    this.replicators.get(id)?.notify();
  }

  async held(holder: Lane, origin: Lane, seq: number): Promise<void> {
    await eventually(() => (this.node(holder).replicas.head(origin).seq >= seq ? true : undefined), 10_000, `${holder} to hold ${origin} up to ${seq}`);
  }

  counter(id: Lane, name: keyof ReturnType<Replicator['status']>['counters']): number {
    return this.node(id).status().counters[name] as number;
  }

  /** A client with `user`'s broker password: what an intruder holding that box has. */
  async as(user: Lane, clientId = `${user}-intruder`): Promise<MqttClient> {
    const client = connect(this.broker.url, { clientId, username: user, password: password(user), clean: true, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 2_000 });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    cleanups.push(() => client.endAsync(true));
    return client;
  }
}

/** Payload bytes seen on each node's inbox from now on. */
async function inboxBytes(store: Store): Promise<Map<string, number>> {
  const bytes = new Map<string, number>();
  // Each node may read only its own inbox (brokers/acl.template), so each watches its own. No node
  // may even write an inbox outside the store's nodes, such as `nobody`'s: that stays at 0.
  for (const node of NODES) {
    const watcher = await store.as(node, `inbox-watcher-${node}`);
    watcher.on('message', (topic, payload) => {
      const owner = topics.parse(topic)?.node ?? topic;
      bytes.set(owner, (bytes.get(owner) ?? 0) + payload.byteLength);
    });
    await watcher.subscribeAsync(topics.inbox(node), { qos: 1 });
  }
  return bytes;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('repair requests answer only their real requester, within its byte budget', () => {
  it('a flood naming a false requester, or another real peer, draws no answer bytes and is counted by reason', async () => {
    const store = await Store.open();
    store.start(...NODES);
    store.write('lane-2', 200);
    await store.held('lane-1', 'lane-2', 200);
    await store.held('lane-3', 'lane-2', 200);
    const bytes = await inboxBytes(store);
    const repairsSeen: string[] = [];
    const spy = await store.as('lane-3', 'repair-spy');
    spy.on('message', (_topic, payload) => repairsSeen.push(payload.toString()));
    await spy.subscribeAsync(topics.everyNode('repair'), { qos: 1 });

    // The intruder holds lane-1: its password and its key.
    const asLane1 = await store.as('lane-1');
    const key1 = store.key('lane-1');
    const ask = (requester: string) => ({ requester, origin: 'lane-2', fromSeq: 1, toSeq: 200 });
    const offTopic = sealRepairRequest({ ...ask('lane-3'), fromSeq: 7 }, key1);
    for (let i = 0; i < 40; i++) {
      await asLane1.publishAsync(topics.repair('lane-1'), sealRepairRequest(ask('nobody'), key1), { qos: 1 }); // a requester that does not exist
      await asLane1.publishAsync(topics.repair('lane-1'), sealRepairRequest(ask('lane-3'), key1), { qos: 1 }); // a real other peer, on lane-1's topic
      await asLane1.publishAsync(topics.repair('lane-1'), Buffer.from(JSON.stringify({ v: 1, ...ask('nobody') })), { qos: 1 }); // the old unsigned form
      await asLane1.publishAsync(topics.repair('lane-3'), offTopic, { qos: 1 }); // on lane-3's topic: the broker drops it
    }
    for (const id of ['lane-2', 'lane-3'] as const) {
      await eventually(
        () => (store.counter(id, 'repair_unknown_node') >= 40 && store.counter(id, 'repair_wrong_topic') >= 40 && store.counter(id, 'repair_unsigned') >= 40 ? true : undefined),
        10_000,
        `${id} to count the refused requests`,
      );
    }
    await sleep(500);
    expect(bytes.get('nobody') ?? 0).toBe(0);
    expect(bytes.get('lane-3') ?? 0).toBe(0);
    // The ACL lets lane-1 write only its own repair topic: the requests on lane-3's never reached anyone.
    expect(repairsSeen.length).toBeGreaterThanOrEqual(120);
    expect(repairsSeen).not.toContain(offTopic.toString());
    for (const id of ['lane-2', 'lane-3'] as const) {
      expect(store.node(id).status().counters).toMatchObject({ repair_unknown_node: 40, repair_wrong_topic: 40, repair_unsigned: 40, repair_throttled: 0 });
    }
  });

  it('a flood by a real requester in its own name is cut at its byte budget, counted, and a legitimate repair still works', async () => {
    const budget = { bytesPerSecond: 50_000, burstBytes: 200_000 };
    const store = await Store.open({ repairBudget: budget });
    store.start('lane-1', 'lane-2');
    store.write('lane-2', 200);
    await store.held('lane-1', 'lane-2', 200);
    const bytes = await inboxBytes(store);
    const asLane1 = await store.as('lane-1');
    const started = Date.now();
    const request = sealRepairRequest({ requester: 'lane-1', origin: 'lane-2', fromSeq: 1, toSeq: 200 }, store.key('lane-1'));
    for (let i = 0; i < 40; i++) await asLane1.publishAsync(topics.repair('lane-1'), request, { qos: 1 });
    await eventually(() => (store.counter('lane-2', 'repair_throttled') > 0 ? true : undefined), 10_000, 'lane-2 to throttle the flood');
    await sleep(1_000);
    const elapsedS = (Date.now() - started) / 1_000;
    // One answerer (lane-2) bounded by its budget; unbounded, 40 full answers would be some 40 times one.
    const oneAnswer = 200 * 900;
    // The burst went out: the measure sees answers, and the budget is what held the rest back.
    expect(bytes.get('lane-1') ?? 0).toBeGreaterThan(budget.burstBytes / 2);
    expect(bytes.get('lane-1') ?? 0).toBeLessThanOrEqual(budget.burstBytes + budget.bytesPerSecond * elapsedS);
    expect(bytes.get('lane-1') ?? 0).toBeLessThan(10 * oneAnswer);
    expect(store.counter('lane-2', 'repair_throttled')).toBeGreaterThan(30);

    // A node that never saw lane-1's and lane-2's entries on their journal topics gets them by repair.
    store.write('lane-1', 30);
    await store.held('lane-2', 'lane-1', 30);
    store.start('lane-3');
    await store.held('lane-3', 'lane-1', 30);
    await store.held('lane-3', 'lane-2', 200);
    expect(store.counter('lane-3', 'repair_requested')).toBeGreaterThan(0);
    expect(store.counter('lane-1', 'repair_answered') + store.counter('lane-2', 'repair_answered')).toBeGreaterThan(0);
    expect(store.node('lane-3').replicas.verify('lane-2')).toMatchObject({ ok: true, checked: 200 });
  });

  it("the node's own requests go out on its own repair topic, signed with its key", async () => {
    const store = await Store.open();
    store.start('lane-1');
    store.write('lane-1', 3);
    const seen: { topic: string; payload: Buffer }[] = [];
    const spy = await store.as('lane-3', 'repair-spy');
    spy.on('message', (topic, payload) => seen.push({ topic, payload }));
    await spy.subscribeAsync(topics.everyNode('repair'), { qos: 1 });
    await eventually(() => (store.node('lane-1').status().outbox.ackedSeq === 3 ? true : undefined), 5_000, 'lane-1 acknowledged');
    store.start('lane-2');
    await store.held('lane-2', 'lane-1', 3);
    const ring = new Map([['lane-2', createPublicKey(store.key('lane-2'))]]);
    expect(seen.length).toBeGreaterThan(0);
    for (const message of seen) {
      expect(message.topic).toBe(topics.repair('lane-2'));
      expect(openRepairRequest(message.payload, 'lane-2', ring)).toMatchObject({ ok: true, message: { requester: 'lane-2', origin: 'lane-1' } });
    }
  });
});

describe('statuses move custody only when their node signed them, dated no later than the clock tolerance allows', () => {
  it("a forged status (unsigned, another key, node A signing as node B, A's status on B's topic) is refused and counted", async () => {
    const store = await Store.open();
    store.start(...NODES);
    store.write('lane-3', 2);
    const lane3Online = (id: Lane) =>
      store
        .node(id)
        .status()
        .origins.find((o) => o.origin === 'lane-3');
    await eventually(() => (['lane-1', 'lane-2'].every((id) => lane3Online(id as Lane)?.online === true && lane3Online(id as Lane)?.announcedSeq === 2) ? true : undefined), 10_000, 'lane-3 online everywhere');

    const asLane3 = await store.as('lane-3');
    const now = Date.now();
    const forged: NodeStatus = { nodeId: 'lane-3', online: false, headSeq: 999, wallMs: now, session: now + 60_000, n: 0 };
    const sends: Buffer[] = [
      Buffer.from(JSON.stringify({ v: 1, nodeId: 'lane-3', online: false, headSeq: 999, wallMs: now })), // unsigned
      sealStatus(forged, generateNodeKeyPair().privateKey), // an intruder's key
      sealStatus(forged, store.key('lane-1')), // lane-1 signing as lane-3
      sealStatus({ ...forged, nodeId: 'lane-1' }, store.key('lane-1')), // lane-1's own status, on lane-3's topic
    ];
    for (const payload of sends) await asLane3.publishAsync(topics.status('lane-3'), payload, { qos: 1 });
    for (const id of ['lane-1', 'lane-2'] as const) {
      await eventually(
        () => (store.counter(id, 'status_unsigned') >= 1 && store.counter(id, 'status_bad_signature') >= 2 && store.counter(id, 'status_wrong_topic') >= 1 ? true : undefined),
        5_000,
        `${id} to count the forged statuses`,
      );
      expect(store.node(id).status().counters).toMatchObject({ status_unsigned: 1, status_bad_signature: 2, status_wrong_topic: 1 });
      expect(lane3Online(id)).toMatchObject({ online: true, announcedSeq: 2 });
    }
  });

  it('a future-dated status signed by the real node is refused, and custody still moves when the node goes silent', async () => {
    const store = await Store.open();
    store.start(...NODES);
    await eventually(
      () =>
        NODES.every(
          (id) =>
            store
              .node(id)
              .status()
              .origins.filter((o) => o.online === true).length === 2,
        )
          ? true
          : undefined,
      10_000,
      'every node online',
    );
    await store.node('lane-3').stop();
    store.replicators.delete('lane-3');

    // The intruder holds lane-3's key and password: a stream of statuses dated an hour ahead.
    const asLane3 = await store.as('lane-3');
    const key3 = store.key('lane-3');
    let n = 0;
    const future = () => {
      const at = Date.now() + 3_600_000;
      return sealStatus({ nodeId: 'lane-3', online: true, headSeq: 0, wallMs: at, session: at, n: n++ }, key3);
    };
    const started = Date.now();
    const stream = setInterval(() => void asLane3.publishAsync(topics.status('lane-3'), future(), { qos: 1, retain: true }).catch(() => undefined), 100);
    cleanups.push(() => clearInterval(stream));
    const custody = await eventually(
      () => {
        const held = (['lane-1', 'lane-2'] as const).map((id) => [id, store.node(id).status().custody] as const);
        return held.some(([, c]) => c.includes('lane-3')) ? held : undefined;
      },
      10_000,
      'a custodian for lane-3',
    );
    clearInterval(stream);
    expect(custody.filter(([, c]) => c.includes('lane-3'))).toHaveLength(1);
    // Custody moved about when the deadline said, not an hour later.
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const id of ['lane-1', 'lane-2'] as const) expect(store.counter(id, 'status_future')).toBeGreaterThan(0);
  });
});

describe('acks count toward quorum only for the node that signed them', () => {
  it("false acks in another node's name do not satisfy quorum; the real ones do", async () => {
    const store = await Store.open();
    store.start('lane-1');
    // lane-2 and lane-3 look online (their own signed statuses) but hold nothing: only acks could make quorum.
    const now = Date.now();
    for (const id of ['lane-2', 'lane-3'] as const) {
      const client = await store.as(id, `${id}-status`);
      await client.publishAsync(topics.status(id), sealStatus({ nodeId: id, online: true, headSeq: 0, wallMs: now, session: now, n: 0 }, store.key(id)), { qos: 1, retain: true });
    }
    await eventually(
      () =>
        store
          .node('lane-1')
          .status()
          .origins.filter((o) => o.online === true).length === 2
          ? true
          : undefined,
      5_000,
      'lane-2 and lane-3 online at lane-1',
    );
    store.write('lane-1', 1);

    // The intruder holds lane-2's password and lane-3's key and password.
    const asLane2 = await store.as('lane-2');
    const asLane3 = await store.as('lane-3');
    const ack = (node: string, key: KeyObject) => sealAck({ node, origin: 'lane-1', seq: 1, wallMs: Date.now() }, key);
    const key3 = store.key('lane-3');
    await asLane2.publishAsync(topics.ack('lane-2'), Buffer.from(JSON.stringify({ v: 1, origin: 'lane-1', seq: 1 })), { qos: 1 }); // unsigned
    await asLane2.publishAsync(topics.ack('lane-2'), ack('lane-2', key3), { qos: 1 }); // lane-3's key in lane-2's name
    await asLane2.publishAsync(topics.ack('lane-2'), ack('lane-2', generateNodeKeyPair().privateKey), { qos: 1 }); // an intruder's key
    await asLane2.publishAsync(topics.ack('lane-2'), ack('lane-3', key3), { qos: 1 }); // lane-3's real ack, replayed on lane-2's topic
    await asLane3.publishAsync(topics.ack('lane-2'), ack('lane-3', key3), { qos: 1 }); // lane-3 on lane-2's topic: the broker drops it
    await eventually(
      () => (store.counter('lane-1', 'ack_unsigned') >= 1 && store.counter('lane-1', 'ack_bad_signature') >= 2 && store.counter('lane-1', 'ack_wrong_topic') >= 1 ? true : undefined),
      5_000,
      'lane-1 to count the false acks',
    );
    const forged = await store.node('lane-1').awaitQuorum(1, 500);
    expect(forged).toMatchObject({ reached: false, held: 0, reachable: 2, needed: 2 });
    expect(store.node('lane-1').status().counters).toMatchObject({ ack_unsigned: 1, ack_bad_signature: 2, ack_wrong_topic: 1, quorum_local_only: 1 });

    // One real ack, lane-3's on its own topic, is one vote: still short of two.
    await asLane3.publishAsync(topics.ack('lane-3'), ack('lane-3', key3), { qos: 1 });
    await expect(store.node('lane-1').awaitQuorum(1, 500)).resolves.toMatchObject({ reached: false, held: 1 });
    await asLane2.publishAsync(topics.ack('lane-2'), ack('lane-2', store.key('lane-2')), { qos: 1 });
    await expect(store.node('lane-1').awaitQuorum(1, 5_000)).resolves.toMatchObject({ reached: true, held: 2 });
  });
});
