import type { Server } from 'node:net';
import { parseAcl } from '../../src/rigs/broker/acl-rules.js';
import { type StoreAedes, createStoreAedes } from '../../src/rigs/broker/store-aedes.js';
import { freePort } from '../../src/platform/free-port.js';
import { MOSQUITTO, MOSQUITTO_PASSWD, startMosquittoServer } from '../../src/rigs/broker/mosquitto-server.js';
import { type BrokerAclScope, storeAclForUsers } from '../../src/rigs/broker/store-acl.js';
import { TcpGate } from '../../src/rigs/network/tcp-gate.js';
export { freePort, MOSQUITTO, MOSQUITTO_PASSWD };
export type { BrokerAclScope };

/**
 * MQTT brokers for the replication tests: the embedded aedes, and a real Mosquitto started from
 * the shipped brokers/mosquitto.conf (only paths and port replaced). Both get the same per-node
 * credentials and the same ACL, the shipped brokers/acl.template filled in for the test's fleet
 * and store, so one suite runs against either.
 */
export type BrokerKind = 'aedes' | 'mosquitto';

export interface TestBroker {
  readonly kind: BrokerKind;
  readonly port: number;
  readonly url: string;
  /** Dies at once: SIGKILL for Mosquitto; for aedes, every socket destroyed and the server closed. */
  kill(): Promise<void>;
  /** Starts again on the same port (Mosquitto: same persistence directory). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** username → password */
export type Users = Readonly<Record<string, string>>;

export function startBroker(kind: BrokerKind, dir: string, users: Users, scope: BrokerAclScope): Promise<TestBroker> {
  return kind === 'aedes' ? startAedes(users, scope) : startMosquitto(dir, users, scope);
}

// ---- aedes -------------------------------------------------------------------------------------

export async function startAedes(users: Users, scope: BrokerAclScope, port?: number): Promise<TestBroker> {
  const chosen = port ?? (await freePort());
  const acl = storeAclForUsers(users, scope);
  let running: StoreAedes | undefined;
  const start = async () => {
    const { broker, server, sockets } = await createStoreAedes(users, acl);
    await listen(server, chosen);
    running = { broker, server, sockets };
  };
  const kill = async () => {
    if (running === undefined) return;
    const { broker, server, sockets } = running;
    running = undefined;
    for (const socket of sockets) socket.destroy();
    await Promise.all([new Promise((resolve) => server.close(resolve)), new Promise<void>((resolve) => broker.close(() => resolve()))]);
  };
  await start();
  return { kind: 'aedes', port: chosen, url: `mqtt://127.0.0.1:${chosen}`, kill, start, stop: kill };
}

// ---- Mosquitto ---------------------------------------------------------------------------------

export async function startMosquitto(dir: string, users: Users, scope: BrokerAclScope, port?: number): Promise<TestBroker> {
  const server = await startMosquittoServer({ dir, users, acl: scope, ...(port === undefined ? {} : { port }), option: 'the Mosquitto suite (it does not skip)' });
  return { kind: 'mosquitto', port: server.port, url: server.url, kill: server.kill, start: server.start, stop: server.kill };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

// ---- the ACL, for aedes: the same parser the replication bench's aedes uses --------------------
export { parseAcl, storeAclForUsers };

// ---- a link that can be cut --------------------------------------------------------------------
export { TcpGate };
