import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type MqttClient, connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { pairFiles, writePair } from '../src/certs/files.js';
import { type PemPair, issueCertificate } from '../src/certs/x509.js';
import { DEFAULT_BRIDGE_USER, DEFAULT_PEER_BRIDGE_USER, DEFAULT_RULES_USER } from '../src/replication/broker/broker-acl.js';
import { StoreTopics } from '../src/wire/topics.js';
import { type MosquittoServer, startMosquittoServer } from '../src/rigs/broker/mosquitto-server.js';
import { TcpGate } from '../src/rigs/network/tcp-gate.js';
import { peerBridgeConf, peerBridgeSetting } from './support/peer-bridge.js';
import { clientCertIn, tlsOptions } from './support/tls-clients.js';
import { useTempDir } from './support/tmp.js';

/*
 * A store's two brokers (brokers/README.md, "Two brokers in a store"): two real Mosquittos from the
 * shipped mosquitto.conf and ACL, both with the TLS listener and certificates from ONE store CA,
 * the standby (B) bridged to the primary (A) by the shipped brokers/peer-bridge.conf.example with
 * only its address, files, fleet and store replaced. Clients hold certificates from the store CA,
 * as nodes do; a `probe` certificate that may read everything (a line appended to the ACL) sees
 * what reached a broker whoever may read it.
 */

const tempDir = useTempDir('edgepay-peer-bridge-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

// Not the shipped file's acme/store-0042: the replacement is part of what is tested.
const FLEET = 'fleet-9';
const STORE = 'store-5';
const topics = new StoreTopics(FLEET, STORE);
const NODES = ['lane-1', 'lane-2', 'lane-3'] as const;
const PROBE = 'probe';
/** Passwords only fill the password file: every client here logs in by certificate on the TLS listener. */
const USERS = Object.fromEntries([...NODES, DEFAULT_BRIDGE_USER, DEFAULT_RULES_USER, DEFAULT_PEER_BRIDGE_USER].map((user) => [user, `pw-${user}`]));
const ACL = { fleet: FLEET, store: STORE, peerBridgeUser: DEFAULT_PEER_BRIDGE_USER, extraLines: [`user ${PROBE}`, 'topic read #'] };
/** After the last expected message arrived: long enough for an echo or a second copy to show. */
const SETTLE_MS = 1_000;
/**
 * The bridge is back and carrying both ways within this after the primary listens again. With
 * restart_timeout 1 10 the standby dials 1 s after the drop (refused: the primary is down), then
 * after a random 1-3 s, and Mosquitto connects about a second after each dial: about 4 s at worst
 * after a 2 s outage. Measured on a 2-core box: 1.3-3.1 s.
 */
const REJOINED_WITHIN_MS = 5_000;
/** How long the primary stays dead: systemd starts a crashed one again after RestartSec=2s. */
const DOWN_MS = 2_000;

type TlsServer = MosquittoServer & { readonly tls: NonNullable<MosquittoServer['tls']> };

interface Store {
  readonly a: TlsServer;
  readonly b: TlsServer;
  /** The store CA both brokers' certificates come from, as every client's. */
  readonly ca: PemPair;
  /** Each broker's log (the shipped log types, to a file as well). */
  readonly aLogFile: string;
  readonly bLogFile: string;
  cert(name: string): Promise<PemPair>;
}

function withTls(server: MosquittoServer): TlsServer {
  if (server.tls === undefined) throw new Error('the broker has no TLS listener');
  return server as TlsServer;
}

interface TwoBrokersOptions {
  /** Runs between the two starts: the primary alone. */
  readonly beforeB?: (a: TlsServer, cert: (name: string) => Promise<PemPair>) => Promise<void>;
  /** Something between the brokers: the bridge dials the port this returns instead of A's TLS listener. */
  readonly via?: (aTlsPort: number) => Promise<number>;
}

/**
 * A (primary) from the shipped files; B (standby) likewise, its TLS directory seeded with A's CA
 * and a server certificate of its own issued from it, and the peer bridge to A's TLS listener.
 */
async function twoBrokers(dir: string, options: TwoBrokersOptions = {}): Promise<Store> {
  const aLogFile = join(dir, 'a.log');
  const a = withTls(await startMosquittoServer({ dir: join(dir, 'a'), users: USERS, acl: ACL, tls: true, extraConf: `log_dest file ${aLogFile}`, option: 'the peer bridge suite (it does not skip)' }));
  cleanups.push(() => a.stop());
  const ca = a.tls.material.ca;
  const certs = new Map<string, PemPair>();
  const cert = async (name: string): Promise<PemPair> => {
    if (!certs.has(name)) certs.set(name, await clientCertIn(join(dir, 'clients'), ca, name));
    return certs.get(name)!;
  };
  await options.beforeB?.(a, cert);

  // brokerTlsMaterial makes a CA only where <dir>/tls/ca.crt is missing: B gets A's, and its own server certificate.
  const bTls = join(dir, 'b', 'tls');
  writePair(pairFiles(bTls, 'ca'), ca, bTls);
  writePair(pairFiles(bTls, 'broker'), await issueCertificate({ ca, name: 'store-broker-b', kind: 'server', hosts: ['127.0.0.1', 'localhost'], validDays: 1 }), bTls);
  const bridgeCert = await clientCertIn(join(dir, 'peer-bridge'), ca, DEFAULT_PEER_BRIDGE_USER);
  const bLogFile = join(dir, 'b.log');
  const port = options.via === undefined ? a.tls.port : await options.via(a.tls.port);
  const bridge = peerBridgeConf({ address: `127.0.0.1:${port}`, cafile: pairFiles(bTls, 'ca').certFile, certfile: bridgeCert.certFile, keyfile: bridgeCert.keyFile, fleet: FLEET, store: STORE });
  const b = withTls(await startMosquittoServer({ dir: join(dir, 'b'), users: USERS, acl: ACL, tls: true, extraConf: `${bridge}\nlog_dest file ${bLogFile}` }));
  cleanups.push(() => b.stop());
  // Seeded, not made anew: one store CA for both brokers and every client.
  expect(b.tls.material.ca.certPem).toBe(ca.certPem);
  return { a, b, ca, aLogFile, bLogFile, cert };
}

interface Heard {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
}

interface Listener {
  readonly client: MqttClient;
  readonly heard: Heard[];
  /** How many copies of this payload on this topic arrived. */
  copies(topic: string, payload: string): number;
}

async function connectTo(server: TlsServer, ca: PemPair, cert: PemPair): Promise<MqttClient> {
  const client = await connectAsync(server.tls.url, { ...tlsOptions(ca.certPem, cert), protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 4_000 });
  cleanups.push(() => client.endAsync(true));
  return client;
}

async function listen(client: MqttClient, filter = '#'): Promise<Listener> {
  const heard: Heard[] = [];
  client.on('message', (topic, payload, packet) => heard.push({ topic, payload: payload.toString(), retain: packet.retain }));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, heard, copies: (topic, payload) => heard.filter((h) => h.topic === topic && h.payload === payload).length };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Publishes a fresh message on `topic` every 100 ms until `to` has heard one; the time from the
 * call until then. The way to wait for a bridge: nothing else says it carries traffic.
 */
async function crossesWithin(from: MqttClient, topic: string, to: Listener, timeoutMs: number, tag: string): Promise<number> {
  const started = performance.now();
  for (let n = 0; performance.now() - started < timeoutMs; n++) {
    const payload = `${tag}-${n}`;
    await from.publishAsync(topic, payload, { qos: 1 });
    const sent = performance.now();
    while (performance.now() - sent < 100) {
      if (to.heard.some((h) => h.topic === topic && h.payload.startsWith(`${tag}-`))) return performance.now() - started;
      await sleep(10);
    }
  }
  throw new Error(`nothing published on ${topic} crossed within ${timeoutMs} ms`);
}

/** Waits until the bridge carries a message each way (it dials the primary 0-1 s after B's start). */
async function bridgeUp(store: Store): Promise<void> {
  const fromA = await connectTo(store.a, store.ca, await store.cert('lane-3'));
  const fromB = await connectTo(store.b, store.ca, await store.cert('lane-3'));
  const atA = await listen(await connectTo(store.a, store.ca, await store.cert(PROBE)), topics.ack('lane-3'));
  const atB = await listen(await connectTo(store.b, store.ca, await store.cert(PROBE)), topics.ack('lane-3'));
  await crossesWithin(fromA, topics.ack('lane-3'), atB, 10_000, 'warm-a');
  await crossesWithin(fromB, topics.ack('lane-3'), atA, 10_000, 'warm-b');
  await Promise.all([fromA, fromB, atA.client, atB.client].map((c) => c.endAsync()));
}

describe('the peer bridge between the primary and the standby', () => {
  it('carries each peer leaf and the rules once each way, and nothing comes back over it', async () => {
    const store = await twoBrokers(tempDir());
    await bridgeUp(store);
    const lane1 = await connectTo(store.a, store.ca, await store.cert('lane-1'));
    const lane2 = await connectTo(store.b, store.ca, await store.cert('lane-2'));
    const rulesA = await connectTo(store.a, store.ca, await store.cert(DEFAULT_RULES_USER));
    const rulesB = await connectTo(store.b, store.ca, await store.cert(DEFAULT_RULES_USER));
    // The nodes themselves listen (their own ACL), and a probe on each broker sees everything there.
    const heardByLane1 = await listen(lane1);
    const heardByLane2 = await listen(lane2);
    const probeA = await listen(await connectTo(store.a, store.ca, await store.cert(PROBE)));
    const probeB = await listen(await connectTo(store.b, store.ca, await store.cert(PROBE)));

    // lane-1 on A says what a node says to its peers, lane-2 on B the same; each answers the other's repair into its inbox.
    const fromA: [MqttClient, string][] = [
      ...(['journal', 'status', 'ack', 'repair'] as const).map((leaf) => [lane1, topics[leaf]('lane-1')] as [MqttClient, string]),
      [lane1, topics.inbox('lane-2')],
      [rulesA, topics.rules()],
    ];
    const fromB: [MqttClient, string][] = [
      ...(['journal', 'status', 'ack', 'repair'] as const).map((leaf) => [lane2, topics[leaf]('lane-2')] as [MqttClient, string]),
      [lane2, topics.inbox('lane-1')],
      [rulesB, topics.rules()],
    ];
    for (const [client, topic] of fromA) await client.publishAsync(topic, `from-a ${topic}`, { qos: 1 });
    for (const [client, topic] of fromB) await client.publishAsync(topic, `from-b ${topic}`, { qos: 1 });
    const all = [...fromA.map(([, t]) => [t, `from-a ${t}`] as const), ...fromB.map(([, t]) => [t, `from-b ${t}`] as const)];
    await expect.poll(() => all.every(([t, p]) => probeA.copies(t, p) > 0 && probeB.copies(t, p) > 0), { timeout: 5_000, interval: 50 }).toBe(true);
    await sleep(SETTLE_MS);

    // Exactly one copy of everything on each broker: one crossing, no echo back to where it began.
    const counted = (listener: Listener) => all.map(([t, p]) => `${p}: ${listener.copies(t, p)}`);
    expect(counted(probeA)).toEqual(all.map(([, p]) => `${p}: 1`));
    expect(counted(probeB)).toEqual(all.map(([, p]) => `${p}: 1`));
    // The primary took it for a bridge (try_private), known by its certificate's name, with the
    // shipped persistent session (c0) and keepalive (k5).
    expect(readFileSync(store.aLogFile, 'utf8')).toMatch(/New bridge connected from \S+ as edgepay-peer-bridge \(p\d+, c0, k5, u'edgepay-peer-bridge'\)/);
    // And the node on the other broker got what its peer said, once: its store's leaves, its own inbox, the rules.
    const heardOnce = (listener: Listener, sent: readonly [MqttClient, string][], origin: string) => sent.map(([, t]) => `from-${origin} ${t}: ${listener.copies(t, `from-${origin} ${t}`)}`);
    const once = (sent: readonly [MqttClient, string][], origin: string) => sent.map(([, t]) => `from-${origin} ${t}: 1`);
    expect(heardOnce(heardByLane2, fromA, 'a')).toEqual(once(fromA, 'a'));
    expect(heardOnce(heardByLane1, fromB, 'b')).toEqual(once(fromB, 'b'));
  }, 60_000);

  it('carries retained statuses: one set on A before B started, and one set on B while the bridge is up', async () => {
    const store = await twoBrokers(tempDir(), {
      beforeB: async (a, cert) => {
        // The primary ran alone first: lane-1's retained status is there before the standby dials it.
        const lane1 = await connectTo(a, a.tls.material.ca, await cert('lane-1'));
        await lane1.publishAsync(topics.status('lane-1'), 'lane-1 online, head 7', { qos: 1, retain: true });
        await lane1.endAsync();
      },
    });
    await bridgeUp(store);
    const lane2 = await connectTo(store.b, store.ca, await store.cert('lane-2'));
    await lane2.publishAsync(topics.status('lane-2'), 'lane-2 online, head 3', { qos: 1, retain: true });
    await sleep(SETTLE_MS);

    // Nodes connecting later (here lane-3, on each broker) get both statuses at subscribe, retained.
    const onB = await listen(await connectTo(store.b, store.ca, await store.cert('lane-3')), topics.everyNode('status'));
    const onA = await listen(await connectTo(store.a, store.ca, await store.cert('lane-3')), topics.everyNode('status'));
    await expect.poll(() => onA.heard.length + onB.heard.length, { timeout: 5_000 }).toBe(4);
    const expected = [
      { topic: topics.status('lane-1'), payload: 'lane-1 online, head 7', retain: true },
      { topic: topics.status('lane-2'), payload: 'lane-2 online, head 3', retain: true },
    ];
    const byTopic = (heard: readonly Heard[]) => [...heard].sort((x, y) => x.topic.localeCompare(y.topic));
    expect(byTopic(onB.heard)).toEqual(expected);
    expect(byTopic(onA.heard)).toEqual(expected);
  }, 60_000);

  it("never carries uplink, authorize or centre, either way: each broker's own centre bridge does", async () => {
    const store = await twoBrokers(tempDir());
    await bridgeUp(store);
    const probeA = await listen(await connectTo(store.a, store.ca, await store.cert(PROBE)));
    const probeB = await listen(await connectTo(store.b, store.ca, await store.cert(PROBE)));
    // A node's requests (on its own broker), and the centre's answers as a centre bridge writes them.
    const nodeA = await connectTo(store.a, store.ca, await store.cert('lane-1'));
    const nodeB = await connectTo(store.b, store.ca, await store.cert('lane-2'));
    const centreBridgeA = await connectTo(store.a, store.ca, await store.cert(DEFAULT_BRIDGE_USER));
    const centreBridgeB = await connectTo(store.b, store.ca, await store.cert(DEFAULT_BRIDGE_USER));
    const sent: { readonly on: 'a' | 'b'; readonly topic: string; readonly payload: string }[] = [];
    const send = async (client: MqttClient, on: 'a' | 'b', topic: string): Promise<void> => {
      const payload = `${on} ${topic}`;
      await client.publishAsync(topic, payload, { qos: 1 });
      sent.push({ on, topic, payload });
    };
    for (const leaf of ['uplink', 'authorize']) {
      await send(nodeA, 'a', `${topics.prefix}/lane-1/${leaf}`);
      await send(nodeB, 'b', `${topics.prefix}/lane-2/${leaf}`);
    }
    for (const node of NODES) {
      await send(centreBridgeA, 'a', `${topics.prefix}/${node}/centre`);
      await send(centreBridgeB, 'b', `${topics.prefix}/${node}/centre`);
    }
    // A journal entry sent last, each way: once it has crossed, anything sent before it would have too.
    await send(nodeA, 'a', topics.journal('lane-1'));
    await send(nodeB, 'b', topics.journal('lane-2'));
    await expect.poll(() => probeB.copies(topics.journal('lane-1'), `a ${topics.journal('lane-1')}`) + probeA.copies(topics.journal('lane-2'), `b ${topics.journal('lane-2')}`), { timeout: 5_000 }).toBe(2);
    await sleep(SETTLE_MS);

    const local = (probe: Listener, on: 'a' | 'b') => sent.filter((s) => s.on === on).map((s) => `${s.payload}: ${probe.copies(s.topic, s.payload)}`);
    const foreign = (probe: Listener, on: 'a' | 'b') => sent.filter((s) => s.on !== on && !s.topic.endsWith('/journal')).map((s) => `${s.payload}: ${probe.copies(s.topic, s.payload)}`);
    // Each reached its own broker (the ACL let it be written there) and never the other.
    expect(local(probeA, 'a')).toEqual(sent.filter((s) => s.on === 'a').map((s) => `${s.payload}: 1`));
    expect(local(probeB, 'b')).toEqual(sent.filter((s) => s.on === 'b').map((s) => `${s.payload}: 1`));
    expect(foreign(probeA, 'a')).toEqual(sent.filter((s) => s.on === 'b' && !s.topic.endsWith('/journal')).map((s) => `${s.payload}: 0`));
    expect(foreign(probeB, 'b')).toEqual(sent.filter((s) => s.on === 'a' && !s.topic.endsWith('/journal')).map((s) => `${s.payload}: 0`));
  }, 60_000);

  it('is back and carrying both ways soon after the primary is killed and started again', async () => {
    const store = await twoBrokers(tempDir());
    await bridgeUp(store);
    const lane2 = await connectTo(store.b, store.ca, await store.cert('lane-2'));
    const heardOnB = await listen(await connectTo(store.b, store.ca, await store.cert(PROBE)));

    await store.a.kill();
    const killedAt = performance.now();
    // The standby notices at once (the dead process's sockets are closed) and dials again.
    const dials = (): number => (readFileSync(store.bLogFile, 'utf8').match(/Connecting bridge \(step 1\) edgepay-peer/g) ?? []).length;
    const dialsBefore = dials();
    // The first dial comes restart_timeout's base (1 s) after the drop; it fails while A is down.
    await expect.poll(dials, { timeout: 5_000, interval: 50 }).toBeGreaterThan(dialsBefore);
    // Down as long as systemd keeps a crashed broker down (systemd/edgepay-mosquitto.service: RestartSec=2s).
    await sleep(Math.max(0, DOWN_MS - (performance.now() - killedAt)));

    const restartedAt = performance.now();
    await store.a.start();
    const listening = performance.now() - restartedAt;
    // Fresh clients on the restarted primary, as nodes reconnecting.
    const probeA = await listen(await connectTo(store.a, store.ca, await store.cert(PROBE)));
    const lane1 = await connectTo(store.a, store.ca, await store.cert('lane-1'));
    await crossesWithin(lane1, topics.journal('lane-1'), heardOnB, REJOINED_WITHIN_MS, 'a-after-restart');
    const aToB = performance.now() - restartedAt;
    await crossesWithin(lane2, topics.ack('lane-2'), probeA, REJOINED_WITHIN_MS, 'b-after-restart');
    const bothWays = performance.now() - restartedAt;
    console.info(
      `peer bridge: primary listening ${Math.round(listening)} ms after its restart; carrying A->B after ${Math.round(aToB)} ms, both ways after ${Math.round(bothWays)} ms (restart_timeout ${peerBridgeSetting('restart_timeout')})`,
    );
    expect(bothWays).toBeLessThan(REJOINED_WITHIN_MS);
  }, 60_000);

  it('queues at both ends while the link is cut, and delivers each message once when it is back', async () => {
    let gate: TcpGate | undefined;
    const store = await twoBrokers(tempDir(), {
      via: async (port) => {
        gate = await TcpGate.open(port);
        cleanups.push(() => gate!.close());
        return gate.port;
      },
    });
    await bridgeUp(store);
    // Subscribed all along on both brokers, so whatever crosses later is seen (nothing here is retained).
    const probeA = await listen(await connectTo(store.a, store.ca, await store.cert(PROBE)));
    const probeB = await listen(await connectTo(store.b, store.ca, await store.cert(PROBE)));
    const lane1 = await connectTo(store.a, store.ca, await store.cert('lane-1'));
    const lane2 = await connectTo(store.b, store.ca, await store.cert('lane-2'));

    // The link reset and refused (the bridge's connection dropped), both brokers up.
    gate!.block();
    await lane1.publishAsync(topics.journal('lane-1'), 'on A while cut', { qos: 1 });
    await lane2.publishAsync(topics.journal('lane-2'), 'on B while cut', { qos: 1 });
    await sleep(SETTLE_MS);
    expect([probeB.copies(topics.journal('lane-1'), 'on A while cut'), probeA.copies(topics.journal('lane-2'), 'on B while cut')]).toEqual([0, 0]);

    // cleansession false: the primary kept the bridge's session and the standby its bridge's local
    // one, each with what the other must get.
    gate!.unblock();
    await expect.poll(() => probeB.copies(topics.journal('lane-1'), 'on A while cut') + probeA.copies(topics.journal('lane-2'), 'on B while cut'), { timeout: 15_000, interval: 50 }).toBe(2);
    await sleep(SETTLE_MS);
    expect([probeB.copies(topics.journal('lane-1'), 'on A while cut'), probeA.copies(topics.journal('lane-2'), 'on B while cut')]).toEqual([1, 1]);
    // And nothing came back to where it began.
    expect([probeA.copies(topics.journal('lane-1'), 'on A while cut'), probeB.copies(topics.journal('lane-2'), 'on B while cut')]).toEqual([1, 1]);
  }, 60_000);
});
