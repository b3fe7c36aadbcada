import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type IClientOptions, type MqttClient, connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_WIRE_BYTES } from '../src/central/centre-wire.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { ManualClock } from '../src/platform/clock.js';
import { DEFAULT_PEER_BRIDGE_USER, renderShippedStoreAcl } from '../src/replication/broker/broker-acl.js';
import { Counters } from '../src/wire/counters.js';
import { MAX_RUN_BYTES } from '../src/wire/envelope.js';
import { generateNodeKeyPair } from '../src/wire/keys.js';
import { silentLog } from '../src/platform/replication-log.js';
import { MqttLink } from '../src/replication/broker/mqtt-link.js';
import { RepairAnswerer } from '../src/replication/repair/repair-answerer.js';
import { RepairPlanner } from '../src/replication/repair/repair-planner.js';
import { openReplicaDatabase } from '../src/replication/replicas/replica-db.js';
import { ReplicaStore } from '../src/replication/replicas/replica-store.js';
import { MAX_RULES_MESSAGE_BYTES } from '../src/rules/message.js';
import { Subscriber } from '../src/replication/replicas/subscriber.js';
import { StoreTopics } from '../src/wire/topics.js';
import { type MosquittoServer, SHIPPED_MOSQUITTO_CONF, startMosquittoServer } from '../src/rigs/broker/mosquitto-server.js';
import { runCli } from './support/cli.js';
import { useTempDir } from './support/tmp.js';

/*
 * The store broker's ACL and bounds, on a real Mosquitto started from the shipped mosquitto.conf
 * and the ACL `edgepay store broker-acl` writes from brokers/acl.template. Every refusal is checked
 * beside the same action where it is allowed, so a broker that allowed (or refused) everything fails.
 */

const tempDir = useTempDir('edgepay-broker-acl-');
const FLEET = 'f';
const STORE = 's';
const topics = new StoreTopics(FLEET, STORE);
const other = new StoreTopics(FLEET, 's2');
const otherFleet = new StoreTopics('f2', STORE);
const NODES = ['lane-1', 'lane-2', 'lane-3'] as const;
const BRIDGE = 'edgepay-bridge';
const CENTRE = 'edgepay-centre';
const RULES = 'edgepay-rules';
/** The peer bridge between a store's two brokers (brokers/peer-bridge.conf.example). */
const PEER = DEFAULT_PEER_BRIDGE_USER;
/** A test-only user that reads and writes everything: it plays other stores and sees what got through. */
const PROBE = 'probe';
const USERS = Object.fromEntries([...NODES, BRIDGE, CENTRE, RULES, PEER, PROBE].map((u) => [u, `pw-${u}`]));
const SETTLE_MS = 400;
const MiB = 1024 * 1024;

let broker: MosquittoServer | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  await broker?.stop();
  broker = undefined;
});

async function start(dir = tempDir()): Promise<MosquittoServer> {
  // The probe is listed among the nodes by storeAclForUsers too; its extra line is what matters.
  broker = await startMosquittoServer({ dir, users: USERS, acl: { fleet: FLEET, store: STORE, extraLines: [`user ${PROBE}`, 'topic readwrite #'] }, option: 'the broker ACL suite (it does not skip)' });
  return broker;
}

async function client(user: string, options: IClientOptions = {}): Promise<MqttClient> {
  const c = await connectAsync(broker!.url, { username: user, password: USERS[user], protocolVersion: 4, reconnectPeriod: 0, clientId: `${user}-${Math.random().toString(36).slice(2)}`, ...options });
  clients.push(c);
  return c;
}

interface Heard {
  readonly topic: string;
  readonly bytes: number;
  readonly retain: boolean;
}

async function listener(user: string, filter = '#', options: IClientOptions = {}): Promise<{ client: MqttClient; heard: Heard[]; topics: () => string[] }> {
  const c = await client(user, options);
  const heard: Heard[] = [];
  c.on('message', (topic, payload, packet) => heard.push({ topic, bytes: payload.byteLength, retain: packet.retain }));
  await c.subscribeAsync(filter, { qos: 1 });
  return { client: c, heard, topics: () => [...new Set(heard.map((h) => h.topic))].sort() };
}

const settle = (ms = SETTLE_MS) => new Promise((resolve) => setTimeout(resolve, ms));
const msg = Buffer.from('x');

describe('a node reads only its store and its own answers', () => {
  it("receives its peers' replication traffic, its inbox and its answers, and nothing else", async () => {
    await start();
    const lane1 = await listener('lane-1');
    const probe = await client(PROBE);
    const allowed = [topics.journal('lane-2'), topics.status('lane-2'), topics.ack('lane-2'), topics.repair('lane-2'), topics.inbox('lane-1'), `${topics.prefix}/lane-1/centre`, topics.rules()];
    const refused = [
      other.journal('lane-2'),
      otherFleet.journal('lane-2'),
      topics.inbox('lane-2'),
      `${topics.prefix}/lane-2/centre`,
      `${topics.prefix}/lane-2/uplink`,
      `${topics.prefix}/lane-2/authorize`,
      `${topics.prefix}/lane-1/uplink`,
      `${topics.prefix}/invented/leaf`,
      'elsewhere/entirely',
    ];
    for (const topic of [...allowed, ...refused]) await probe.publishAsync(topic, msg, { qos: 1 });
    await settle();
    expect(lane1.topics()).toEqual([...allowed].sort());
  });

  it("gets no retained message of another node's answers or another store at subscribe", async () => {
    await start();
    const probe = await client(PROBE);
    await probe.publishAsync(`${topics.prefix}/lane-2/centre`, msg, { qos: 1, retain: true });
    await probe.publishAsync(other.status('lane-1'), msg, { qos: 1, retain: true });
    await probe.publishAsync(topics.status('lane-2'), msg, { qos: 1, retain: true });
    const lane1 = await listener('lane-1');
    await settle();
    expect(lane1.topics()).toEqual([topics.status('lane-2')]);
  });
});

describe("a node writes only its own leaves and its peers' inboxes", () => {
  it('publishes under its own node level; nowhere else in its store, nor in another store or fleet', async () => {
    await start();
    const probe = await listener(PROBE);
    const lane1 = await client('lane-1');
    const own = ['journal', 'status', 'ack', 'repair', 'uplink', 'authorize'].map((leaf) => `${topics.prefix}/lane-1/${leaf}`);
    const inboxes = NODES.map((n) => topics.inbox(n));
    const refused = [
      topics.journal('lane-2'),
      topics.status('lane-2'),
      topics.ack('lane-2'),
      topics.repair('lane-2'),
      `${topics.prefix}/lane-2/uplink`,
      `${topics.prefix}/lane-2/authorize`,
      `${topics.prefix}/lane-1/centre`,
      `${topics.prefix}/lane-1/invented`,
      topics.inbox('ghost'),
      topics.rules(),
      other.journal('lane-1'),
      other.inbox('lane-2'),
      otherFleet.journal('lane-1'),
    ];
    // Mosquitto acknowledges a refused QoS 1 publish (MQTT 3.1.1 has no way to say no) and drops it.
    for (const topic of [...own, ...inboxes, ...refused]) await lane1.publishAsync(topic, msg, { qos: 1 });
    await settle();
    expect(probe.topics()).toEqual([...own, ...inboxes].sort());
  });
});

describe('retained messages', () => {
  it('cannot be parked on invented or foreign topics: 48 x 1 MiB leave the persistence file as it was', async () => {
    const dir = tempDir();
    await start(dir);
    const lane1 = await client('lane-1');
    const big = Buffer.alloc(MiB, 7);
    for (let i = 0; i < 48; i++) {
      const topic = [topics.inbox(`ghost-${i}`), `${topics.prefix}/lane-1/x-${i}`, other.repair(`lane-${i}`), `${topics.prefix}/lane-2/journal`][i % 4]!;
      await lane1.publishAsync(topic, big, { qos: 1, retain: true });
    }
    // The same credentials do get a retained status through: the refusals above are the ACL's.
    await lane1.publishAsync(topics.status('lane-1'), big, { qos: 1, retain: true });
    const lane2 = await listener('lane-2');
    await settle();
    expect(lane2.heard.map((h) => [h.topic, h.retain])).toEqual([[topics.status('lane-1'), true]]);
    await broker!.stop();
    const persisted = statSync(join(dir, 'persist', 'mosquitto.db')).size;
    expect(persisted).toBeGreaterThan(MiB);
    expect(persisted).toBeLessThan(MiB + 64 * 1024);
  });

  it("Mosquitto keeps one on a node's own journal (no per-topic retain right): peers ignore it and its node clears it", async () => {
    await start();
    const lane1 = await client('lane-1');
    await lane1.publishAsync(topics.journal('lane-1'), Buffer.from('{"not":"an entry"}'), { qos: 1, retain: true });
    const peer = await listener('lane-2');
    await settle();
    // What the broker cannot refuse: the retained copy reaches every new subscriber, flagged retained.
    expect(peer.heard).toEqual([{ topic: topics.journal('lane-1'), bytes: 18, retain: true }]);
    const peerSide = subscriberOf('lane-2', new MqttLink(peer.client));
    peerSide.subscriber.handle(topics.journal('lane-1'), Buffer.from('{"not":"an entry"}'), true);
    expect(peerSide.counters.get('malformed')).toBe(0);
    // The same message live (not retained) is verified, and refused as what it is.
    peerSide.subscriber.handle(topics.journal('lane-1'), Buffer.from('{"not":"an entry"}'), false);
    expect(peerSide.counters.get('malformed')).toBe(1);

    // Its own node, subscribing, ignores and clears it.
    const own = await listener('lane-1', topics.everyNode('journal'));
    await settle();
    expect(own.heard.map((h) => h.retain)).toEqual([true]);
    const ownSide = subscriberOf('lane-1', new MqttLink(own.client));
    ownSide.subscriber.handle(topics.journal('lane-1'), Buffer.from('{"not":"an entry"}'), true);
    await settle();
    expect(ownSide.counters.get('malformed')).toBe(0);
    const later = await listener('lane-3');
    await settle();
    expect(later.heard).toEqual([]);
  });
});

function subscriberOf(nodeId: string, port: MqttLink) {
  const counters = new Counters();
  const db = openReplicaDatabase(':memory:', nodeId);
  const store = new ReplicaStore(db);
  const key = generateNodeKeyPair();
  const common = { nodeId, topics, store, port, counters, log: silentLog, clock: new ManualClock(Date.now()), signingKey: key.privateKey };
  const answerer = new RepairAnswerer({ ...common, journal: new JournalReader('/nonexistent/journal.db', nodeId), maxAnswerEntries: 64, maxAnswersInFlight: 64 });
  const subscriber = new Subscriber({ ...common, keys: new Map([[nodeId, key.publicKey]]), answerer, planner: new RepairPlanner() });
  return { subscriber, counters };
}

describe('the bridge user carries only what the bridge maps', () => {
  it('reads batches and authorizations; writes answers and rules; nothing else', async () => {
    await start();
    const bridge = await listener(BRIDGE);
    const probe = await client(PROBE);
    const out = [`${topics.prefix}/lane-1/uplink`, `${topics.prefix}/lane-1/authorize`];
    const local = [
      topics.journal('lane-1'),
      topics.status('lane-1'),
      topics.ack('lane-1'),
      topics.repair('lane-1'),
      topics.inbox('lane-1'),
      `${topics.prefix}/lane-1/centre`,
      topics.rules(),
      other.journal('lane-1'),
      otherFleet.status('lane-1'),
    ];
    for (const topic of [...out, ...local]) await probe.publishAsync(topic, msg, { qos: 1 });
    await settle();
    expect(bridge.topics()).toEqual([...out].sort());

    const seen = await listener(PROBE);
    const writes = [`${topics.prefix}/lane-2/centre`, topics.rules()];
    const refusedWrites = [topics.journal('lane-1'), topics.status('lane-1'), topics.inbox('lane-1'), `${topics.prefix}/ghost/centre`, `${other.prefix}/lane-1/centre`, other.rules()];
    for (const topic of [...writes, ...refusedWrites]) await bridge.client.publishAsync(topic, msg, { qos: 1 });
    await settle();
    expect(seen.topics()).toEqual([...writes].sort());
  });

  it("the rules user writes only its store's rules", async () => {
    await start();
    const seen = await listener(PROBE);
    const rules = await client(RULES);
    for (const topic of [topics.rules(), other.rules(), topics.journal('lane-1'), topics.status('lane-1')]) await rules.publishAsync(topic, msg, { qos: 1 });
    await settle();
    expect(seen.topics()).toEqual([topics.rules()]);
  });
});

describe("the peer bridge user carries only the nodes' replication traffic", () => {
  // What peer-bridge.conf.example maps, for the store's listed nodes: their journal, status, ack,
  // repair and inbox, and the store's rules. Never uplink, authorize or centre (each broker's own
  // centre bridge carries those), nothing of a node not listed, of another store or fleet.
  const replication = NODES.flatMap((n) => [topics.journal(n), topics.status(n), topics.ack(n), topics.repair(n), topics.inbox(n)]);
  const carried = [...replication, topics.rules()];
  const notCarried = [
    ...NODES.flatMap((n) => ['uplink', 'authorize', 'centre'].map((leaf) => `${topics.prefix}/${n}/${leaf}`)),
    topics.journal('ghost'),
    topics.inbox('ghost'),
    `${topics.prefix}/lane-1/invented`,
    other.journal('lane-1'),
    other.status('lane-1'),
    other.inbox('lane-1'),
    other.rules(),
    otherFleet.journal('lane-1'),
    otherFleet.rules(),
    'elsewhere/entirely',
  ];

  it('reads exactly the peer leaves of every node of the store and the rules', async () => {
    await start();
    const peer = await listener(PEER);
    const probe = await client(PROBE);
    for (const topic of [...carried, ...notCarried]) await probe.publishAsync(topic, msg, { qos: 1 });
    await settle();
    expect(peer.topics()).toEqual([...carried].sort());
  });

  it('writes exactly the same topics, and nothing else', async () => {
    await start();
    const seen = await listener(PROBE);
    const peer = await client(PEER);
    for (const topic of [...carried, ...notCarried]) await peer.publishAsync(topic, msg, { qos: 1 });
    await settle();
    expect(seen.topics()).toEqual([...carried].sort());
  });

  it('gets no block at all when no peer bridge user is given', () => {
    const acl = renderShippedStoreAcl({ fleet: FLEET, store: STORE, nodes: [...NODES], bridgeUser: BRIDGE, rulesUser: RULES });
    expect(acl).not.toContain(PEER);
    expect(acl).not.toContain('peer_bridge_user');
    const withPeer = renderShippedStoreAcl({ fleet: FLEET, store: STORE, nodes: [...NODES], bridgeUser: BRIDGE, rulesUser: RULES, peerBridgeUser: PEER });
    const block = withPeer
      .slice(withPeer.indexOf(`user ${PEER}\n`))
      .trimEnd()
      .split('\n\n')[0]!
      .split('\n');
    expect(block).toEqual([
      `user ${PEER}`,
      ...(['journal', 'status', 'ack', 'repair', 'inbox'] as const).flatMap((leaf) => NODES.map((n) => `topic readwrite ${topics.prefix}/${n}/${leaf}`)),
      `topic readwrite ${topics.rules()}`,
    ]);
  });
});

describe('edgepay store broker-acl --peer-bridge-user', () => {
  const base = ['store', 'broker-acl', '--fleet', FLEET, '--store', STORE, ...NODES.flatMap((n) => ['--node', n]), '--bridge-user', BRIDGE];

  it('writes the peer bridge block: the ACL the brokers above run', () => {
    const written = runCli([...base, '--peer-bridge-user', 'peer-b']);
    expect(written.stderr).toBe('');
    expect(written.status).toBe(0);
    expect(written.stdout).toBe(renderShippedStoreAcl({ fleet: FLEET, store: STORE, nodes: [...NODES], bridgeUser: BRIDGE, rulesUser: RULES, peerBridgeUser: 'peer-b' }));
    expect(written.stdout).toContain(`user peer-b\ntopic readwrite ${topics.journal('lane-1')}\n`);
    // Without the option, a store with one broker: no peer bridge is granted anything.
    const single = runCli(base);
    expect(single.status).toBe(0);
    expect(single.stdout).not.toContain('peer-b');
    expect(single.stdout.split('\n').filter((line) => line.startsWith('user '))).toEqual([...NODES.map((n) => `user ${n}`), `user ${BRIDGE}`, `user ${RULES}`]);
  });

  it("refuses a user name that is not one token, or is already another user's, naming the option; writes nothing", () => {
    const out = join(tempDir(), 'acl');
    const refusals: [string, RegExp][] = [
      ['edgepay/peer', /EDGEPAY_REPLICATION_BAD_ID: --peer-bridge-user: peer bridge user "edgepay\/peer" must be 1-64 letters/],
      ['peer+bridge', /EDGEPAY_REPLICATION_BAD_ID: --peer-bridge-user: /],
      ['-peer', /EDGEPAY_REPLICATION_BAD_ID: --peer-bridge-user: /],
      ['lane-2', /EDGEPAY_REPLICATION_CONFIG: --peer-bridge-user: peer bridge user "lane-2" is also a node/],
      [BRIDGE, /EDGEPAY_REPLICATION_CONFIG: --peer-bridge-user: peer bridge user "edgepay-bridge" is also the bridge user/],
      [RULES, /EDGEPAY_REPLICATION_CONFIG: --peer-bridge-user: peer bridge user "edgepay-rules" is also the rules user/],
    ];
    for (const [user, reason] of refusals) {
      const refused = runCli([...base, `--peer-bridge-user=${user}`, '--out', out]);
      expect(refused.status, user).toBe(2);
      expect(refused.stderr, user).toMatch(reason);
      expect(existsSync(out), user).toBe(false);
    }
    const centre = runCli([...base, '--centre-user', 'one-name', '--peer-bridge-user', 'one-name']);
    expect(centre.status).toBe(2);
    expect(centre.stderr).toMatch(/--peer-bridge-user: peer bridge user "one-name" is also the centre user/);
  });
});

describe('bounds', () => {
  it('drops a message over message_size_limit and keeps the connection; one at the limit passes', async () => {
    await start();
    const peer = await listener('lane-2', topics.journal('lane-1'));
    const lane1 = await client('lane-1');
    await lane1.publishAsync(topics.journal('lane-1'), Buffer.alloc(MESSAGE_SIZE_LIMIT + 1), { qos: 1 });
    await lane1.publishAsync(topics.journal('lane-1'), Buffer.alloc(MESSAGE_SIZE_LIMIT), { qos: 1 });
    await settle(1_000);
    expect(lane1.connected).toBe(true);
    expect(peer.heard.map((h) => h.bytes)).toEqual([MESSAGE_SIZE_LIMIT]);
  });

  it('caps what an offline persistent session queues at max_queued_bytes', async () => {
    await start();
    const away = await listener('lane-2', topics.journal('lane-1'), { clientId: 'lane-2', clean: false });
    await away.client.endAsync();
    const lane1 = await client('lane-1');
    const sent = 80;
    for (let i = 0; i < sent; i++) await lane1.publishAsync(topics.journal('lane-1'), Buffer.alloc(MiB, i), { qos: 1 });
    const back = await client('lane-2', { clientId: 'lane-2', clean: false });
    const bytes: number[] = [];
    back.on('message', (_t, payload) => bytes.push(payload.byteLength));
    await settle(2_000);
    const received = bytes.length * MiB;
    expect(received).toBeGreaterThan(32 * MiB);
    expect(received).toBeLessThanOrEqual(MAX_QUEUED_BYTES);
    expect(bytes.length).toBeLessThan(sent);
  });
});

describe('the bounds and the wire schemas agree', () => {
  it('no schema allows a message the broker drops, and the largest ones fit', () => {
    expect(MAX_WIRE_BYTES).toBeLessThanOrEqual(MESSAGE_SIZE_LIMIT);
    expect(MAX_RULES_MESSAGE_BYTES).toBeLessThanOrEqual(MESSAGE_SIZE_LIMIT);
    expect(MAX_RUN_BYTES).toBeLessThanOrEqual(MESSAGE_SIZE_LIMIT);
    expect(Math.max(MAX_WIRE_BYTES, MAX_RULES_MESSAGE_BYTES)).toBe(MESSAGE_SIZE_LIMIT);
    expect(confValue('max_packet_size')).toBeGreaterThan(MESSAGE_SIZE_LIMIT);
  });

  it('the shipped template refuses to leave a placeholder unfilled', () => {
    const acl = renderShippedStoreAcl({ fleet: FLEET, store: STORE, nodes: ['lane-1'], bridgeUser: BRIDGE, rulesUser: RULES });
    expect(
      acl
        .split('\n')
        .filter((line) => !line.startsWith('#'))
        .join('\n'),
    ).not.toMatch(/[{}]/);
    expect(acl).not.toContain(CENTRE);
    expect(acl).not.toContain(PEER);
    expect(acl).not.toMatch(/^pattern/m);
  });
});

function confValue(key: string): number {
  const line = readFileSync(SHIPPED_MOSQUITTO_CONF, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${key} `));
  if (line === undefined) throw new Error(`${key} is not in the shipped mosquitto.conf`);
  return Number(line.split(/\s+/)[1]);
}
const MESSAGE_SIZE_LIMIT = confValue('message_size_limit');
const MAX_QUEUED_BYTES = confValue('max_queued_bytes');
