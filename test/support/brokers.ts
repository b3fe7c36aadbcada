import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, connect as tcpConnect, createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseAcl } from '../../src/bench/replication-acl.js';
import { type StoreAedes, createStoreAedes } from '../../src/bench/replication-aedes.js';
import { freePort } from '../../src/platform/free-port.js';
export { freePort };

/**
 * MQTT brokers for the replication tests: the embedded aedes, and a real Mosquitto started from
 * the shipped brokers/mosquitto.conf and brokers/acl (only paths and port replaced). Both get the
 * same per-node credentials and the same ACL file, so one suite runs against either.
 */
export type BrokerKind = 'aedes' | 'mosquitto';

/** Debian's paths; set EDGEPAY_MOSQUITTO / EDGEPAY_MOSQUITTO_PASSWD elsewhere. */
export const MOSQUITTO = process.env['EDGEPAY_MOSQUITTO'] ?? '/usr/sbin/mosquitto';
export const MOSQUITTO_PASSWD = process.env['EDGEPAY_MOSQUITTO_PASSWD'] ?? '/usr/bin/mosquitto_passwd';
const BROKERS_DIR = new URL('../../brokers/', import.meta.url);
const ACL_FILE = new URL('acl', BROKERS_DIR);

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

export function startBroker(kind: BrokerKind, dir: string, users: Users): Promise<TestBroker> {
  return kind === 'aedes' ? startAedes(users) : startMosquitto(dir, users);
}

// ---- aedes -------------------------------------------------------------------------------------

export async function startAedes(users: Users, port?: number): Promise<TestBroker> {
  const chosen = port ?? (await freePort());
  let running: StoreAedes | undefined;
  const start = async () => {
    const { broker, server, sockets } = await createStoreAedes(users, ACL_FILE);
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

export async function startMosquitto(dir: string, users: Users, port?: number): Promise<TestBroker> {
  for (const binary of [MOSQUITTO, MOSQUITTO_PASSWD]) {
    if (!existsSync(binary)) {
      throw new Error(`${binary} is missing: the Mosquitto suite needs a real Mosquitto 2.x (apt-get install mosquitto); it does not skip`);
    }
  }
  const chosen = port ?? (await freePort());
  const passwd = join(dir, 'passwd');
  Object.entries(users).forEach(([user, password], i) => {
    execFileSync(MOSQUITTO_PASSWD, ['-b', ...(i === 0 ? ['-c'] : []), passwd, user, password], { stdio: 'pipe' });
  });
  mkdirSync(join(dir, 'persist'), { recursive: true });
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, mosquittoConf(chosen, passwd, join(dir, 'persist/')));
  let proc: ChildProcess | undefined;
  let stderr = '';
  const start = async () => {
    const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`mosquitto exited (${code}) at start:\n${stderr}`))));
    await Promise.race([waitForPort(chosen, 5_000), exited]);
    exited.catch(() => undefined);
  };
  const kill = async () => {
    const child = proc;
    proc = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  };
  await start();
  return { kind: 'mosquitto', port: chosen, url: `mqtt://127.0.0.1:${chosen}`, kill, start, stop: kill };
}

/** The shipped configuration with this test's port and paths; every other setting as shipped. */
function mosquittoConf(port: number, passwd: string, persistDir: string): string {
  const shipped = readFileSync(new URL('mosquitto.conf', BROKERS_DIR), 'utf8');
  const replaced: Record<string, string> = {
    listener: `${port} 127.0.0.1`,
    password_file: passwd,
    acl_file: new URL(ACL_FILE).pathname,
    persistence_location: persistDir,
  };
  const lines = shipped.split('\n').map((line) => {
    const key = /^(\w+)\s/.exec(line)?.[1];
    return key !== undefined && replaced[key] !== undefined ? `${key} ${replaced[key]}` : line;
  });
  // Run as root, Mosquitto drops to user `mosquitto`, which cannot read a private temp dir.
  if (userInfo().uid === 0) lines.push('user root');
  return lines.join('\n');
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1');
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
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

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

// ---- the ACL file, for aedes: the same parser the replication bench's aedes uses --------------
export { parseAcl };

// ---- a link that can be cut --------------------------------------------------------------------

/** A TCP relay in front of the broker: block() cuts a node off the network without touching its code. */
export class TcpGate {
  private blocked = false;
  private readonly pairs = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async open(targetPort: number): Promise<TcpGate> {
    const port = await freePort();
    let gate: TcpGate | undefined;
    const server = createServer((inbound) => gate?.relay(inbound, targetPort));
    await listen(server, port);
    gate = new TcpGate(server, port);
    return gate;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  block(): void {
    this.blocked = true;
    for (const socket of this.pairs) socket.destroy();
  }

  unblock(): void {
    this.blocked = false;
  }

  async close(): Promise<void> {
    this.block();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private relay(inbound: Socket, targetPort: number): void {
    if (this.blocked) return void inbound.destroy();
    const outbound = tcpConnect(targetPort, '127.0.0.1');
    for (const [a, b] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      this.pairs.add(a);
      a.on('close', () => {
        this.pairs.delete(a);
        b.destroy();
      });
      a.on('error', () => a.destroy());
      a.pipe(b);
    }
  }
}
