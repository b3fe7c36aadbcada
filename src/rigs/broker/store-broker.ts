import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:net';
import { dirname, join } from 'node:path';
import { freePort } from '../../platform/free-port.js';
import { startMosquittoServer } from './mosquitto-server.js';
import { type BrokerAclScope, storeAclForUsers } from './store-acl.js';
import { type StoreAedes, createStoreAedes } from './store-aedes.js';

/** The embedded aedes (the demo's broker) or a real Mosquitto from the shipped configuration. */
export const BROKER_KINDS = ['aedes', 'mosquitto'] as const;
export type BrokerKind = (typeof BROKER_KINDS)[number];

/** username → password */
export type BrokerUsers = Readonly<Record<string, string>>;

/**
 * A store broker of either kind with the same per-user credentials and the same ACL (the shipped
 * brokers/acl.template filled in for the store), so a suite, a benchmark or the demo runs on
 * either and meets the same refusals.
 */
export interface StoreBroker {
  readonly kind: BrokerKind;
  readonly version: string;
  readonly port: number;
  readonly url: string;
  /** Dies at once: SIGKILL for Mosquitto; for aedes, every socket destroyed and the server closed. */
  kill(): Promise<void>;
  /** Starts again on the same port (Mosquitto: same persistence directory). */
  start(): Promise<void>;
  /** A clean stop (Mosquitto writes its persistence file). */
  stop(): Promise<void>;
  /** Synchronous, for a process being interrupted: no broker may outlive it. */
  killNow(): void;
}

export interface StoreBrokerOptions {
  readonly port?: number;
  /** Names what needs Mosquitto in the error a machine without it gets. */
  readonly neededBy: string;
}

export function startStoreBroker(kind: BrokerKind, dir: string, users: BrokerUsers, scope: BrokerAclScope, options: StoreBrokerOptions): Promise<StoreBroker> {
  return kind === 'aedes' ? startAedes(users, scope, options.port) : startMosquitto(dir, users, scope, options);
}

async function startAedes(users: BrokerUsers, scope: BrokerAclScope, port?: number): Promise<StoreBroker> {
  const chosen = port ?? (await freePort());
  const acl = storeAclForUsers(users, scope);
  let running: StoreAedes | undefined;
  const start = async (): Promise<void> => {
    const aedes = await createStoreAedes(users, acl);
    await listen(aedes.server, chosen);
    running = aedes;
  };
  const killNow = (): void => {
    for (const socket of running?.sockets ?? []) socket.destroy();
  };
  const kill = async (): Promise<void> => {
    if (running === undefined) return;
    const { broker, server, sockets } = running;
    running = undefined;
    for (const socket of sockets) socket.destroy();
    await Promise.all([new Promise((resolve) => server.close(resolve)), new Promise<void>((resolve) => broker.close(() => resolve()))]);
  };
  await start();
  return { kind: 'aedes', version: aedesVersion(), port: chosen, url: `mqtt://127.0.0.1:${chosen}`, kill, start, stop: kill, killNow };
}

async function startMosquitto(dir: string, users: BrokerUsers, scope: BrokerAclScope, options: StoreBrokerOptions): Promise<StoreBroker> {
  const server = await startMosquittoServer({ dir, users, acl: scope, ...(options.port === undefined ? {} : { port: options.port }), option: options.neededBy });
  return { kind: 'mosquitto', version: server.version, port: server.port, url: server.url, kill: server.kill, start: server.start, stop: server.stop, killNow: server.killNow };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
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
