import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgepayError } from '../../errors.js';
import { freePort } from '../../platform/free-port.js';
import { type BrokerTlsMaterial, brokerTlsMaterial, withListeners } from './mosquitto-tls.js';
import { ACL_TEMPLATE_FILE } from '../../replication/broker/broker-acl.js';
import { type BrokerAclScope, storeAclForUsers } from './store-acl.js';

/*
 * A real Mosquitto started from the shipped brokers/mosquitto.conf and the store ACL written from
 * brokers/acl.template for the given fleet and store, with only the port and paths replaced and per-node credentials, so tests, benches and chaos runs talk to the
 * broker a store runs. It can be killed and started again on the same port and persistence.
 */

/** Debian's paths; set EDGEPAY_MOSQUITTO / EDGEPAY_MOSQUITTO_PASSWD elsewhere. */
export const MOSQUITTO = process.env.EDGEPAY_MOSQUITTO ?? '/usr/sbin/mosquitto';
export const MOSQUITTO_PASSWD = process.env.EDGEPAY_MOSQUITTO_PASSWD ?? '/usr/bin/mosquitto_passwd';
// src/rigs/broker and dist/rigs/broker both sit three levels below the package root.
const BROKERS_DIR = new URL('../../../brokers/', import.meta.url);
/** The ACL template; a broker gets it filled in for its store (storeAclForUsers). */
export const SHIPPED_ACL_FILE = ACL_TEMPLATE_FILE;
export const SHIPPED_MOSQUITTO_CONF = fileURLToPath(new URL('mosquitto.conf', BROKERS_DIR));
/** A clean stop lets Mosquitto write its persistence file; past this it is killed. */
const STOP_GRACE_MS = 2_000;
const START_TIMEOUT_MS = 5_000;

/** username → password */
export type BrokerUsers = Readonly<Record<string, string>>;

export interface MosquittoServer {
  readonly port: number;
  readonly url: string;
  readonly version: string;
  /** With `tls: true`: the shipped TLS listener (mutual TLS) and the CA its certificates come from. */
  readonly tls?: MosquittoTls;
  readonly running: boolean;
  /** Dies at once (SIGKILL): nothing persisted since the last autosave survives, as in a power cut. */
  kill(): Promise<void>;
  /** Starts again on the same port and persistence directory. */
  start(): Promise<void>;
  /** SIGTERM, so it writes its persistence file; SIGKILL past a grace period. */
  stop(): Promise<void>;
  /** Synchronous, for a process being interrupted: no broker may outlive it. */
  killNow(): void;
}

export interface MosquittoOptions {
  readonly dir: string;
  readonly users: BrokerUsers;
  /** The store this broker serves: its ACL is the shipped template filled in for it and the users. */
  readonly acl: BrokerAclScope;
  readonly port?: number;
  /** Also run the shipped TLS listener (on a free port), with a CA and broker certificate made in `dir`. */
  readonly tls?: boolean;
  /** Appended to the shipped configuration: a bridge section (brokers/bridge.conf.example). */
  readonly extraConf?: string;
  /** Names the option a missing binary is reported against (e.g. `--broker`). */
  readonly option?: string;
}

export interface MosquittoTls {
  readonly port: number;
  /** mqtts://127.0.0.1:<port>: the broker certificate names 127.0.0.1 and localhost. */
  readonly url: string;
  readonly material: BrokerTlsMaterial;
}

export function requireMosquitto(option = 'mosquitto'): void {
  for (const binary of [MOSQUITTO, MOSQUITTO_PASSWD]) {
    if (!existsSync(binary)) {
      throw new EdgepayError('EDGEPAY_NOT_FOUND', `${option}: ${binary} is missing; install Mosquitto 2.x (e.g. \`apt-get install mosquitto\`) or set EDGEPAY_MOSQUITTO / EDGEPAY_MOSQUITTO_PASSWD to its binaries`, {
        option,
        missing: binary,
      });
    }
  }
  for (const file of [SHIPPED_ACL_FILE, SHIPPED_MOSQUITTO_CONF]) {
    if (!existsSync(file)) throw new EdgepayError('EDGEPAY_NOT_FOUND', `${option}: the shipped broker file ${file} is missing; run from an edgepay checkout`, { option, file });
  }
}

export async function startMosquittoServer(options: MosquittoOptions): Promise<MosquittoServer> {
  requireMosquitto(options.option);
  const port = options.port ?? (await freePort());
  mkdirSync(join(options.dir, 'persist'), { recursive: true });
  const passwd = join(options.dir, 'passwd');
  Object.entries(options.users).forEach(([user, password], i) => {
    execFileSync(MOSQUITTO_PASSWD, ['-b', ...(i === 0 ? ['-c'] : []), passwd, user, password], { stdio: 'pipe' });
  });
  const acl = join(options.dir, 'acl');
  writeFileSync(acl, storeAclForUsers(options.users, options.acl));
  const tls: MosquittoTls | undefined = options.tls ? await tlsListenerOf(options.dir) : undefined;
  const conf = join(options.dir, 'mosquitto.conf');
  writeFileSync(conf, `${mosquittoConf(port, passwd, acl, join(options.dir, 'persist/'), tls)}\n${options.extraConf ?? ''}\n`);
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';
  const alive = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const killNow = (): void => {
    if (alive()) child?.kill('SIGKILL');
  };
  const start = async (): Promise<void> => {
    if (alive()) return;
    const started = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    try {
      await Promise.race([
        Promise.all([waitForPort(port, START_TIMEOUT_MS), ...(tls === undefined ? [] : [waitForPort(tls.port, START_TIMEOUT_MS)])]),
        exited.then(() => Promise.reject(new Error(`mosquitto exited at start:\n${stderr}`))),
      ]);
    } catch (error) {
      killNow();
      throw error;
    }
  };
  const kill = async (): Promise<void> => {
    if (!alive()) return;
    killNow();
    await exited;
  };
  const stop = async (): Promise<void> => {
    if (!alive()) return;
    child?.kill('SIGTERM');
    const force = setTimeout(killNow, STOP_GRACE_MS);
    await exited;
    clearTimeout(force);
  };
  await start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    version: mosquittoVersion(),
    ...(tls === undefined ? {} : { tls }),
    get running() {
      return alive();
    },
    kill,
    start,
    stop,
    killNow,
  };
}

/** The shipped configuration with this run's port and paths; every other setting as shipped. */
function mosquittoConf(port: number, passwd: string, aclFile: string, persistDir: string, tls?: MosquittoTls): string {
  const replaced: Record<string, string> = {
    password_file: passwd,
    acl_file: aclFile,
    persistence_location: persistDir,
  };
  const lines = withListeners(readFileSync(SHIPPED_MOSQUITTO_CONF, 'utf8').split('\n'), port, tls).map((line) => {
    const key = /^(\w+)\s/.exec(line)?.[1];
    return key !== undefined && replaced[key] !== undefined ? `${key} ${replaced[key]}` : line;
  });
  // Run as root, Mosquitto drops to user `mosquitto`, which cannot read a private temp dir.
  if (userInfo().uid === 0) lines.push('user root');
  return lines.join('\n');
}

async function tlsListenerOf(dir: string): Promise<MosquittoTls> {
  const port = await freePort();
  return { port, url: `mqtts://127.0.0.1:${port}`, material: await brokerTlsMaterial(dir) };
}

function mosquittoVersion(): string {
  const probe = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' });
  return /mosquitto version (\S+)/.exec(`${probe.stdout ?? ''}${probe.stderr ?? ''}`)?.[1] ?? 'unknown';
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1');
      const done = (result: boolean): void => {
        socket.destroy();
        resolve(result);
      };
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      setTimeout(() => done(false), 200).unref();
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
