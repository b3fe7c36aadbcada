/**
 * A real, throwaway PostgreSQL server for tests and benchmarks: initdb into a directory the caller
 * owns, then run the postmaster directly as a child process so a test can SIGKILL it mid-write
 * and start it again on the same data. No mocks and no Docker: the machine's own PostgreSQL
 * binaries (Debian's `postgresql` package) are required, and a missing installation is an error,
 * never a skip.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import type { Writable } from 'node:stream';
import { Client } from 'pg';
import { freePort } from '../../platform/free-port.js';

export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
  readonly pgCtl?: string;
}

export interface PostgresSearch {
  /** Directories searched first, in order; defaults to $PATH. */
  readonly path?: string;
  /** Holds one `<version>/bin` per installed major version (Debian's layout); defaults to /usr/lib/postgresql. */
  readonly versionsRoot?: string;
}

export interface StartPostgresOptions {
  /** The data directory is created inside it (as `pgdata`); created if missing. */
  readonly dir: string;
  /** A free port is picked when omitted. */
  readonly port?: number;
}

export interface PostgresServer {
  /** postgres://edgepay@127.0.0.1:PORT/edgepay (trust auth: no password). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Crash: SIGKILL the postmaster and its child processes, and wait until all are gone. */
  kill(): Promise<void>;
  /** Start again on the same data directory and port after kill() or stop(); resolves once it accepts connections. */
  restart(): Promise<void>;
  /** Fast shutdown (SIGINT) and wait for it; a no-op when not running. */
  stop(): Promise<void>;
  /** The server's log so far (its stderr), for failure messages. */
  stderr(): string;
}

const USER = 'edgepay';
const DATABASE = 'edgepay';
const VERSIONS_ROOT = '/usr/lib/postgresql';
const READY_TIMEOUT_MS = 20_000;
// A fast shutdown waits for a checkpoint, which on a loaded CI disk with fsync on can take a while.
const STOP_TIMEOUT_MS = 60_000;
const KILL_TIMEOUT_MS = 10_000;
const LOG_KEEP = 1_000_000;

/**
 * initdb and postgres from one installation: the first directory on the search path holding both
 * wins, then /usr/lib/postgresql/<highest version>/bin, where Debian puts them off $PATH.
 */
export function findPostgresBinaries(search: PostgresSearch = {}): PostgresBinaries {
  const path = search.path ?? process.env.PATH ?? '';
  const versionsRoot = search.versionsRoot ?? VERSIONS_ROOT;
  const dirs = [...path.split(delimiter).filter((dir) => dir !== ''), ...versionBinDirs(versionsRoot)];
  for (const dir of dirs) {
    const initdb = join(dir, 'initdb');
    const postgres = join(dir, 'postgres');
    if (isExecutable(initdb) && isExecutable(postgres)) {
      const pgCtl = join(dir, 'pg_ctl');
      return isExecutable(pgCtl) ? { initdb, postgres, pgCtl } : { initdb, postgres };
    }
  }
  const missing = ['initdb', 'postgres'].filter((name) => !dirs.some((dir) => isExecutable(join(dir, name))));
  const what = missing.length > 0 ? `${missing.join(' and ')} not found` : 'initdb and postgres never found in the same directory';
  throw new Error(
    `PostgreSQL server binaries are missing (${what}; searched PATH and ${versionsRoot}/<version>/bin). ` +
      'The tests need a real PostgreSQL server: install it with `apt-get install postgresql` (Debian/Ubuntu), ' +
      'or put the directory holding initdb and postgres on PATH.',
  );
}

/** Highest major version first; names like "9.6" and "15" both occur. */
function versionBinDirs(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names
    .filter((name) => /^\d+(\.\d+)?$/.test(name))
    .sort((a, b) => Number(b) - Number(a))
    .map((name) => join(root, name, 'bin'));
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

export async function startPostgres(options: StartPostgresOptions): Promise<PostgresServer> {
  const binaries = findPostgresBinaries();
  const owner = serverOwner();
  const port = options.port ?? (await freePort());
  const dataDir = join(options.dir, 'pgdata');
  mkdirSync(options.dir, { recursive: true });
  mkdirSync(dataDir, { mode: 0o700 });
  if (owner !== undefined) {
    // initdb and postgres run as `postgres`: the data directory must be theirs, and they must be
    // able to reach it through the caller's directory (mkdtemp makes it 0700 root).
    chownSync(dataDir, owner.uid, owner.gid);
    chmodSync(options.dir, (statSync(options.dir).mode & 0o7777) | 0o001);
  }
  initdb(binaries.initdb, dataDir, options.dir, owner);
  const server = new LocalPostgres(binaries.postgres, dataDir, options.dir, port, owner);
  await server.restart();
  try {
    await createDatabase(port);
  } catch (error) {
    await server.kill();
    throw error;
  }
  return server;
}

interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** PostgreSQL refuses to run as root, so as root it runs as the `postgres` user the package creates. */
function serverOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = spawnSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' });
  const [, , uid, gid] = entry.status === 0 ? entry.stdout.trim().split(':') : [];
  if (uid === undefined || gid === undefined) {
    throw new Error(
      'running as root, but PostgreSQL refuses to run as root and there is no `postgres` user to run it as: ' +
        'install the server with `apt-get install postgresql` (it creates the user) or run the tests as a non-root user',
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

function initdb(binary: string, dataDir: string, cwd: string, owner: Owner | undefined): void {
  const args = [
    '-D',
    dataDir,
    '--username',
    USER,
    '--auth',
    'trust',
    '--encoding',
    'UTF8',
    // C collation: identical sorting on every machine, whatever locales it has installed.
    '--no-locale',
  ];
  const result = spawnSync(binary, args, { cwd, env: childEnv(), encoding: 'utf8', ...owner });
  if (result.status !== 0) {
    const hint = owner === undefined ? '' : ` (run as uid ${owner.uid}: every directory above ${dataDir} must be searchable by it)`;
    const cause = result.error?.message ?? `exit ${result.status ?? result.signal}`;
    throw new Error(`initdb failed${hint}: ${cause}\n${result.stdout}${result.stderr}`);
  }
}

function childEnv(): NodeJS.ProcessEnv {
  // Inherited PG* variables (PGDATA, PGPORT, ...) would silently change what initdb and postgres do.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')));
  return { ...env, LC_ALL: 'C' };
}

async function createDatabase(port: number): Promise<void> {
  const client = new Client({ host: '127.0.0.1', port, user: USER, database: 'postgres' });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

class LocalPostgres implements PostgresServer {
  readonly url: string;
  private child: ChildProcess | undefined;
  private log = '';

  constructor(
    private readonly binary: string,
    readonly dataDir: string,
    private readonly cwd: string,
    readonly port: number,
    private readonly owner: Owner | undefined,
  ) {
    this.url = `postgres://${USER}@127.0.0.1:${port}/${DATABASE}`;
  }

  stderr(): string {
    return this.log;
  }

  async restart(): Promise<void> {
    if (this.child !== undefined) throw new Error(`postgres on port ${this.port} is still running; stop() or kill() it first`);
    const settings = {
      listen_addresses: '127.0.0.1',
      // No unix socket: nothing here uses one, and its path would have to fit in 107 bytes.
      unix_socket_directories: '',
      max_connections: '50',
      fsync: 'on',
    };
    const args = ['-D', this.dataDir, '-p', String(this.port), ...Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`])];
    const child = spawn(this.binary, args, { cwd: this.cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], ...this.owner });
    this.child = child;
    const append = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-LOG_KEEP);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const pid = child.pid;
    if (pid === undefined) {
      // Spawning failed (ENOENT, EACCES, ...): no 'exit' will follow, only 'error'.
      this.child = undefined;
      const error = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new Error(`could not start ${this.binary}: ${error.message}`);
    }
    const watchdog = startWatchdog(pid);
    running.add(pid);
    child.once('exit', () => {
      running.delete(pid);
      watchdog?.end('done\n');
      if (this.child === child) this.child = undefined;
    });
    registerExitCleanup();
    try {
      await waitForConnections(child, this.port, () => this.log);
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.pid === undefined) return;
    const exited = exitOf(child);
    const orphans = killServerSync(child.pid);
    await exited;
    await waitUntilGone(orphans, KILL_TIMEOUT_MS);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited = exitOf(child);
    child.kill('SIGINT');
    const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS, 'timeout').unref());
    if ((await Promise.race([exited, timer])) === 'timeout') await this.kill();
  }
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Polls with a real client: the port opens before recovery ends, and only a login proves readiness. */
async function waitForConnections(child: ChildProcess, port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = 'none';
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}) before accepting connections on port ${port}; its log:\n${log()}`);
    }
    const client = new Client({ host: '127.0.0.1', port, user: USER, database: 'postgres', connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(`postgres did not accept connections on port ${port} within ${READY_TIMEOUT_MS} ms (last error: ${lastError}); its log:\n${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * SIGKILL the postmaster and its children; returns the children. Killing only the postmaster
 * would leave its backends running, still attached to shared memory, and the next postmaster
 * refuses to start until they notice and exit. The postmaster is stopped first so that it cannot
 * fork a child between the listing and the kill. Children are found through /proc (Linux); the
 * children run in sessions of their own, so a process-group kill would miss them.
 */
function killServerSync(pid: number): number[] {
  signal(pid, 'SIGSTOP');
  const children = childPids(pid);
  signal(pid, 'SIGKILL');
  for (const child of children) signal(child, 'SIGKILL');
  return children;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

function childPids(parent: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries.filter((entry) => /^\d+$/.test(entry) && procStat(Number(entry))?.ppid === parent).map(Number);
}

function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    // The command name in parentheses may contain spaces; the fields after it do not.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state === undefined || ppid === undefined ? undefined : { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** The orphans are reaped by init, which in a container may never happen: a zombie counts as gone. */
async function waitUntilGone(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter((pid) => {
      const state = procStat(pid)?.state;
      return state !== undefined && state !== 'Z';
    });
    if (alive.length === 0) return;
    if (Date.now() > deadline) throw new Error(`postgres processes ${alive.join(', ')} survived SIGKILL for ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Ends the server if this process dies without stopping it: vitest ends its fork workers with
 * SIGTERM (then SIGKILL), which runs no 'exit' handler. The shell's stdin is a pipe only this
 * process holds, so its read returns at this process's death, however it dies; the postmaster
 * then gets SIGQUIT (immediate shutdown), on which it also ends its children. Returns the pipe;
 * writing "done" to it dismisses the watchdog.
 */
function startWatchdog(postmaster: number): Writable | undefined {
  const watchdog = spawn('/bin/sh', ['-c', 'read -r line; [ "$line" = done ] || kill -QUIT "$0" 2>/dev/null', String(postmaster)], {
    // Its own process group: a Ctrl-C aimed at the test run must not kill the watchdog before it acts.
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.once('error', () => undefined);
  watchdog.stdin?.on('error', () => undefined);
  // Neither the watchdog nor its pipe may keep this process alive.
  watchdog.unref();
  (watchdog.stdin as Socket | null)?.unref();
  return watchdog.stdin ?? undefined;
}

/** Postmaster pids still running; killed when this process exits so no server outlives it. */
const running = new Set<number>();
let exitCleanupRegistered = false;

function registerExitCleanup(): void {
  if (exitCleanupRegistered) return;
  exitCleanupRegistered = true;
  process.once('exit', () => {
    for (const pid of running) killServerSync(pid);
  });
}
