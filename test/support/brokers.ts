import { parseAcl } from '../../src/rigs/broker/acl-rules.js';
import { type BrokerKind, type BrokerUsers, type StoreBroker, startStoreBroker } from '../../src/rigs/broker/store-broker.js';
import { freePort } from '../../src/platform/free-port.js';
import { MOSQUITTO, MOSQUITTO_PASSWD } from '../../src/rigs/broker/mosquitto-server.js';
import { type BrokerAclScope, storeAclForUsers } from '../../src/rigs/broker/store-acl.js';
import { TcpGate } from '../../src/rigs/network/tcp-gate.js';
export { freePort, MOSQUITTO, MOSQUITTO_PASSWD };
export type { BrokerAclScope };

/**
 * MQTT brokers for the replication tests: the rig's store broker, the embedded aedes or a real
 * Mosquitto from the shipped brokers/mosquitto.conf, with the same per-node credentials and ACL,
 * so one suite runs against either. A test's stop is a kill: nothing waits for a clean shutdown.
 */
export type { BrokerKind };
export type TestBroker = Omit<StoreBroker, 'version' | 'killNow'>;

/** username → password */
export type Users = BrokerUsers;

const NEEDED_BY = 'the Mosquitto suite (it does not skip)';

export async function startBroker(kind: BrokerKind, dir: string, users: Users, scope: BrokerAclScope, port?: number): Promise<TestBroker> {
  const broker = await startStoreBroker(kind, dir, users, scope, { neededBy: NEEDED_BY, ...(port === undefined ? {} : { port }) });
  return { kind: broker.kind, port: broker.port, url: broker.url, kill: broker.kill, start: broker.start, stop: broker.kill };
}

export function startAedes(users: Users, scope: BrokerAclScope, port?: number): Promise<TestBroker> {
  return startBroker('aedes', '', users, scope, port);
}

export function startMosquitto(dir: string, users: Users, scope: BrokerAclScope, port?: number): Promise<TestBroker> {
  return startBroker('mosquitto', dir, users, scope, port);
}

// ---- the ACL, for aedes: the same parser the replication bench's aedes uses --------------------
export { parseAcl, storeAclForUsers };

// ---- a link that can be cut --------------------------------------------------------------------
export { TcpGate };
