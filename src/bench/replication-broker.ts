import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type AddressInfo, connect as tcpConnect } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgepayError } from '../errors.js';
import { createStoreAedes } from './replication-aedes.js';
import type { BrokerKind } from './replication-options.js';
import { freePort } from '../platform/free-port.js';

/*
 * The brokers of test/support/brokers.ts, for the bench: the embedded aedes and a real Mosquitto
 * started from the shipped brokers/mosquitto.conf and brokers/acl (only paths and port replaced),
 * both with per-node credentials and the shipped ACL, so the figures are for what a store runs.
 * Copied rather than imported: src/ never depends on test/.
 */

/** Debian's paths; set EDGEPAY_MOSQUITTO / EDGEPAY_MOSQUITTO_PASSWD elsewhere. */
const MOSQUITTO = process.env['EDGEPAY_MOSQUITTO'] ?? '/usr/sbin/mosquitto';
const MOSQUITTO_PASSWD = process.env['EDGEPAY_MOSQUITTO_PASSWD'] ?? '/usr/bin/mosquitto_passwd';
// src/bench and dist/bench both sit two levels below the package root.
const BROKERS_DIR = new URL('../../brokers/', import.meta.url);
const ACL_FILE = fileURLToPath(new URL('acl', BROKERS_DIR));
const CONF_FILE = fileURLToPath(new URL('mosquitto.conf', BROKERS_DIR));
/** A clean stop lets Mosquitto write its persistence file; past this it is killed. */
const STOP_GRACE_MS = 2_000;

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

export function startBenchBroker(kind: BrokerKind, dir: string, users: Users): Promise<BenchBroker> {
  for (const file of [ACL_FILE, ...(kind === 'mosquitto' ? [CONF_FILE] : [])]) {
    if (!existsSync(file)) {
      throw new EdgepayError('EDGEPAY_NOT_FOUND', `bench replication needs the shipped broker file ${file}; run it from an edgepay checkout`, { file });
    }
  }
  return kind === 'aedes' ? startAedes(users) : startMosquitto(dir, users);
}

async function startAedes(users: Users): Promise<BenchBroker> {
  const { broker, server, sockets } = await createStoreAedes(users, ACL_FILE);
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

async function startMosquitto(dir: string, users: Users): Promise<BenchBroker> {
  for (const binary of [MOSQUITTO, MOSQUITTO_PASSWD]) {
    if (!existsSync(binary)) {
      throw new EdgepayError(
        'EDGEPAY_BAD_INPUT',
        `--broker mosquitto: ${binary} is missing; install Mosquitto 2.x (e.g. \`apt-get install mosquitto\`), set EDGEPAY_MOSQUITTO / EDGEPAY_MOSQUITTO_PASSWD to its binaries, or use --broker aedes`,
        { option: '--broker', value: 'mosquitto', missing: binary },
      );
    }
  }
  mkdirSync(join(dir, 'persist'), { recursive: true });
  const port = await freePort();
  const passwd = join(dir, 'passwd');
  Object.entries(users).forEach(([user, password], i) => {
    execFileSync(MOSQUITTO_PASSWD, ['-b', ...(i === 0 ? ['-c'] : []), passwd, user, password], { stdio: 'pipe' });
  });
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, mosquittoConf(port, passwd, join(dir, 'persist/')));
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const killNow = (): void => {
    if (running()) child.kill('SIGKILL');
  };
  try {
    await Promise.race([
      waitForPort(port, 5_000),
      exited.then(() => Promise.reject(new Error(`mosquitto exited at start:\n${stderr}`))),
    ]);
  } catch (error) {
    killNow();
    throw error;
  }
  const stop = async (): Promise<void> => {
    if (!running()) return;
    child.kill('SIGTERM');
    const force = setTimeout(killNow, STOP_GRACE_MS);
    await exited;
    clearTimeout(force);
  };
  return { kind: 'mosquitto', version: mosquittoVersion(), url: `mqtt://127.0.0.1:${port}`, stop, killNow };
}

/** The shipped configuration with this run's port and paths; every other setting as shipped. */
function mosquittoConf(port: number, passwd: string, persistDir: string): string {
  const replaced: Record<string, string> = {
    listener: `${port} 127.0.0.1`,
    password_file: passwd,
    acl_file: ACL_FILE,
    persistence_location: persistDir,
  };
  const lines = readFileSync(CONF_FILE, 'utf8')
    .split('\n')
    .map((line) => {
      const key = /^(\w+)\s/.exec(line)?.[1];
      return key !== undefined && replaced[key] !== undefined ? `${key} ${replaced[key]}` : line;
    });
  // Run as root, Mosquitto drops to user `mosquitto`, which cannot read a private temp dir.
  if (userInfo().uid === 0) lines.push('user root');
  return lines.join('\n');
}

function mosquittoVersion(): string {
  const probe = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' });
  return /mosquitto version (\S+)/.exec(`${probe.stdout ?? ''}${probe.stderr ?? ''}`)?.[1] ?? 'unknown';
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

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
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
