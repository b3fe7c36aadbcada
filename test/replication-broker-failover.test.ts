import { join } from 'node:path';
import { type MqttClient, connect } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { standbyBrokerProblems } from '../src/platform/broker-urls.js';
import { aimAt, brokerEndpointOf } from '../src/replication/broker/broker-endpoint.js';
import { BrokerFailover } from '../src/replication/broker/broker-failover.js';
import { FailbackPolicy, nextBrokerIndex } from '../src/replication/broker/failback-policy.js';
import { silentLog } from '../src/platform/replication-log.js';
import { checkNodeConfig } from '../src/config/node-config.js';
import { type MosquittoServer, startMosquittoServer } from '../src/rigs/broker/mosquitto-server.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-failover-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('failback policy', () => {
  it('moves back only after the primary answered every probe for the hold time', () => {
    const policy = new FailbackPolicy(3_000);
    expect(policy.probed(true, 0)).toBe(false);
    expect(policy.probed(true, 2_999)).toBe(false);
    // One refusal (a broker restarting, a flap) starts the hold again.
    expect(policy.probed(false, 3_000)).toBe(false);
    expect(policy.probed(true, 4_000)).toBe(false);
    expect(policy.probed(true, 6_999)).toBe(false);
    expect(policy.probed(true, 7_000)).toBe(true);
    policy.reset();
    expect(policy.probed(true, 8_000)).toBe(false);
  });

  it('tries the brokers in order, wrapping round', () => {
    expect([0, 1, 2].map((i) => nextBrokerIndex(i, 3))).toEqual([1, 2, 0]);
    expect(nextBrokerIndex(0, 1)).toBe(0);
  });
});

describe('broker endpoints', () => {
  it('reads host, port and scheme, and aims mqtt.js at each broker with its own TLS name', () => {
    expect(brokerEndpointOf('mqtts://broker-b.local')).toEqual({ url: 'mqtts://broker-b.local', protocol: 'mqtts', host: 'broker-b.local', port: 8883 });
    expect(brokerEndpointOf('mqtt://[::1]:1884')).toMatchObject({ host: '::1', port: 1884 });
    const options: Record<string, unknown> = { servername: 'broker-a.local' };
    aimAt(options, brokerEndpointOf('mqtts://broker-b.local:8884'));
    expect(options).toMatchObject({ protocol: 'mqtts', host: 'broker-b.local', hostname: 'broker-b.local', port: 8884, servername: 'broker-b.local' });
    aimAt(options, brokerEndpointOf('mqtts://10.0.0.2:8883'));
    expect(options.servername).toBeUndefined();
    expect(() => brokerEndpointOf('ws://broker:80')).toThrow(/must be mqtt:\/\/ or mqtts:\/\//);
  });

  it('refuses a failover list that mixes schemes, repeats a broker or starts from ws://', () => {
    expect(standbyBrokerProblems('mqtts://a:8883', ['mqtts://b:8883'])).toEqual([]);
    expect(standbyBrokerProblems('mqtts://a:8883', ['mqtt://b:1883'], 'replication.')).toEqual([
      expect.objectContaining({ path: 'replication.standbyBrokerUrls.0', value: 'mqtt://b:1883', message: expect.stringMatching(/same scheme as brokerUrl \(mqtts:\/\/\)/) }),
    ]);
    expect(standbyBrokerProblems('mqtt://a:1883', ['mqtt://b:1883', 'mqtt://a:1883']).map((p) => p.path)).toEqual(['standbyBrokerUrls.1']);
    expect(standbyBrokerProblems('ws://a:80', ['mqtt://b:1883']).map((p) => p.path)).toEqual(['brokerUrl', 'standbyBrokerUrls.0']);
  });

  it('the node configuration names the bad standby and what is allowed', () => {
    const config = (replication: Record<string, unknown>) =>
      checkNodeConfig({
        nodeId: 'lane-1',
        dataDir: '/tmp/x',
        keys: { tokenKeyFile: '/tmp/t', centrePublicKeyFile: '/tmp/c', plainTokenKeyFileForDevelopment: true },
        replication: { fleet: 'f', store: 's', brokerUrl: 'mqtt://a:1883', signingKeyFile: '/tmp/k', ...replication },
      });
    expect(config({ standbyBrokerUrls: ['mqtt://b:1883'] })).toMatchObject({ ok: true, config: { replication: { standbyBrokerUrls: ['mqtt://b:1883'], failbackAfterSeconds: 30 } } });
    const problems = (replication: Record<string, unknown>) => {
      const checked = config(replication);
      return checked.ok ? [] : checked.problems.map((p) => [p.path, p.message]);
    };
    expect(problems({ standbyBrokerUrls: ['mqtt://b', 'mqtt://c', 'mqtt://d', 'mqtt://e'], failbackAfterSeconds: 0 })).toEqual([
      ['replication.standbyBrokerUrls', 'at most 3 standby brokers'],
      ['replication.failbackAfterSeconds', expect.stringMatching(/whole number from 1 to 3600/)],
    ]);
    expect(problems({ standbyBrokerUrls: ['wss://b:443'] })).toEqual([['replication.standbyBrokerUrls.0', 'must be an mqtt:// or mqtts:// URL']]);
    expect(problems({ brokerUrl: 'mqtts://a:8883', standbyBrokerUrls: ['mqtt://b:1883'] })).toEqual([['replication.standbyBrokerUrls.0', expect.stringMatching(/same scheme/)]]);
  });
});

describe('failover between two real brokers', () => {
  async function twoBrokers(): Promise<[MosquittoServer, MosquittoServer]> {
    const dir = tempDir();
    const users = { 'lane-1': 'pw-lane-1', watcher: 'pw-watcher' };
    const scope = { fleet: 'f', store: 's' };
    const a = await startMosquittoServer({ dir: join(dir, 'a'), users, acl: scope });
    cleanups.push(() => a.kill());
    const b = await startMosquittoServer({ dir: join(dir, 'b'), users, acl: scope });
    cleanups.push(() => b.kill());
    return [a, b];
  }

  function client(url: string, clientId: string, user: string, password: string, reconnectPeriod = 100): MqttClient {
    const made = connect(url, { clientId, username: user, password, clean: false, protocolVersion: 4, reconnectPeriod, connectTimeout: 2_000, manualConnect: true });
    cleanups.push(() => made.end(true));
    return made;
  }

  /** Messages `lane-1` publishes, as each broker's own subscriber sees them. */
  async function watch(server: MosquittoServer): Promise<string[]> {
    const seen: string[] = [];
    const watcher = client(server.url, `watcher-${server.port}`, 'watcher', 'pw-watcher');
    watcher.on('message', (_topic, payload) => seen.push(payload.toString()));
    watcher.connect();
    await new Promise<void>((resolve) => watcher.once('connect', () => watcher.subscribe('edgepay/v1/f/s/+/journal', { qos: 1 }, () => resolve())));
    return seen;
  }

  it('moves to the standby when the primary dies, back after it answered for the hold time, and loses no acknowledged publish', async () => {
    const [a, b] = await twoBrokers();
    const onA = await watch(a);
    const onB = await watch(b);
    const lane = client(a.url, 'lane-1', 'lane-1', 'pw-lane-1');
    const failover = new BrokerFailover(lane, { urls: [a.url, b.url], failbackAfterMs: 1_500, probeEveryMs: 100, log: silentLog });
    cleanups.push(() => failover.close());
    lane.connect();
    await new Promise((resolve) => lane.once('connect', resolve));
    /** Publishes acknowledged after the kill: by the standby, or by the primary once it was back. */
    const acked: string[] = [];
    let primaryKilled = false;
    let n = 0;
    const pump = setInterval(() => {
      const body = String(++n);
      lane.publish('edgepay/v1/f/s/lane-1/journal', body, { qos: 1 }, (error) => {
        if ((error === undefined || error === null) && primaryKilled) acked.push(body);
      });
    }, 20);
    cleanups.push(() => clearInterval(pump));
    await until(() => onA.length >= 10, 5_000);

    const killedAt = Date.now();
    await a.kill();
    primaryKilled = true;
    // mqtt.js sets `connected` when the CONNACK arrives but emits 'connect' (which the failover
    // counts) only after it has resent its stored publishes: wait for the count, not the flag.
    await until(() => failover.status().failovers === 1 && lane.connected, 5_000);
    const failoverMs = Date.now() - killedAt;
    expect(failover.status()).toMatchObject({ url: b.url, index: 1, onStandby: true, failovers: 1, failbacks: 0 });
    await until(() => onB.length >= 10, 5_000);

    const restartedAt = Date.now();
    await a.start();
    const onAAgain = await watch(a);
    await until(() => failover.status().failovers === 2 && lane.connected && onAAgain.length >= 10, 10_000);
    const failbackMs = Date.now() - restartedAt;
    expect(failover.status()).toMatchObject({ url: a.url, index: 0, onStandby: false, failovers: 2, failbacks: 1 });
    // Not before the primary had answered for the whole hold time.
    expect(failbackMs).toBeGreaterThanOrEqual(1_500);
    clearInterval(pump);
    await until(() => Object.keys(lane.outgoing as object).length === 0, 5_000);

    // What a SIGKILLed broker had acknowledged and not yet passed on dies with it (the nodes' repair
    // brings such entries again); everything acknowledged after that reached a subscriber.
    const delivered = new Set([...onA, ...onB, ...onAAgain]);
    const lost = acked.filter((body) => !delivered.has(body));
    expect(lost).toEqual([]);
    console.log(`failover: on the standby ${failoverMs} ms after the primary was killed; back on the primary ${failbackMs} ms after it restarted (hold 1500 ms); ${acked.length} publishes acknowledged, none lost`);
  }, 40_000);

  it('a node that starts while the primary is down connects to the standby at once', async () => {
    const [a, b] = await twoBrokers();
    await a.kill();
    const lane = client(a.url, 'lane-1', 'lane-1', 'pw-lane-1', 1_000);
    const failover = new BrokerFailover(lane, { urls: [a.url, b.url], failbackAfterMs: 60_000, log: silentLog });
    cleanups.push(() => failover.close());
    const started = Date.now();
    lane.connect();
    await until(() => lane.connected, 5_000);
    expect(failover.status()).toMatchObject({ url: b.url, onStandby: true });
    // A refused primary costs one reconnect period, not a connect timeout.
    expect(Date.now() - started).toBeLessThan(2_500);
  }, 20_000);
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
