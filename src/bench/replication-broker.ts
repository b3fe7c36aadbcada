import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { EdgepayError } from '../errors.js';
import { SHIPPED_ACL_FILE, SHIPPED_MOSQUITTO_CONF, startMosquittoServer } from '../rigs/broker/mosquitto-server.js';
import { type BrokerAclScope, storeAclForUsers } from '../rigs/broker/store-acl.js';
import { createStoreAedes } from '../rigs/broker/store-aedes.js';
import type { BrokerKind } from './replication-options.js';

/*
 * The bench's brokers: the embedded aedes and a real Mosquitto started from the shipped
 * brokers/mosquitto.conf (only paths and port replaced), both with per-node credentials and the
 * store ACL written from brokers/acl.template, so the figures are for what a store runs.
 */
const ACL_FILE = SHIPPED_ACL_FILE;

export interface BenchBroker {
  readonly kind: BrokerKind;
  readonly version: string;
  readonly url: string;
  stop(): Promise<void>;
  /** Synchronous, for a process that is being interrupted: no broker may outlive the bench. */
  killNow(): void;
}

/** username → password */
export type Users = Readonly<Record<string, string>>;

export function startBenchBroker(kind: BrokerKind, dir: string, users: Users, scope: BrokerAclScope): Promise<BenchBroker> {
  for (const file of [ACL_FILE, ...(kind === 'mosquitto' ? [SHIPPED_MOSQUITTO_CONF] : [])]) {
    if (!existsSync(file)) {
      throw new EdgepayError('EDGEPAY_NOT_FOUND', `bench replication needs the shipped broker file ${file}; run it from an edgepay checkout`, { file });
    }
  }
  return kind === 'aedes' ? startAedes(users, scope) : startMosquitto(dir, users, scope);
}

async function startAedes(users: Users, scope: BrokerAclScope): Promise<BenchBroker> {
  const { broker, server, sockets } = await createStoreAedes(users, storeAclForUsers(users, scope));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let stopped = false;
  const killNow = (): void => {
    stopped = true;
    for (const socket of sockets) socket.destroy();
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    killNow();
    await Promise.all([new Promise((resolve) => server.close(resolve)), new Promise<void>((resolve) => broker.close(() => resolve()))]);
  };
  return { kind: 'aedes', version: aedesVersion(), url: `mqtt://127.0.0.1:${port}`, stop, killNow };
}

async function startMosquitto(dir: string, users: Users, scope: BrokerAclScope): Promise<BenchBroker> {
  const server = await startMosquittoServer({ dir, users, acl: scope, option: '--broker mosquitto' });
  return { kind: 'mosquitto', version: server.version, url: server.url, stop: server.stop, killNow: server.killNow };
}

function aedesVersion(): string {
  try {
    // aedes exports no package.json; it sits beside the entry point.
    const entry = createRequire(import.meta.url).resolve('aedes');
    return (JSON.parse(readFileSync(join(dirname(entry), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
