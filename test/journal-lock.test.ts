import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal, JournalLock, lockOwner } from '../src/journal/index.js';
import { runCli } from './support/cli.js';
import { lanesOverSocket, nodeConfigFile, startNodeProcess } from './support/node-process.js';
import { eventually } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-lock-');
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const NODE = 'box-1';
const JOURNAL_JS = resolve(import.meta.dirname, '../dist/journal/journal.js');
const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');
const SQLITE_HEADER = 'SQLite format 3\0';

function requireBuilt(): void {
  if (!existsSync(JOURNAL_JS)) throw new Error(`${JOURNAL_JS} is missing: build first with \`npx tsc -p tsconfig.build.json\` (the other processes run the compiled code)`);
}

/** A process that holds the journal open (its writer) until it is killed. */
async function startHolder(path: string): Promise<ChildProcess> {
  requireBuilt();
  const script = `
    const { Journal } = await import(${JSON.stringify(JOURNAL_JS)});
    // Kept reachable: better-sqlite3 closes a connection it collects, and the lock with it.
    globalThis.journal = Journal.open({ path: ${JSON.stringify(path)}, nodeId: ${JSON.stringify(NODE)} });
    console.log('HELD');
    setInterval(() => {}, 60_000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolveHeld, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('HELD') && resolveHeld());
    child.once('exit', (code) => reject(new Error(`the holder exited (${code}) before holding the journal: ${stderr}`)));
  });
  return child;
}

async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGKILL');
  await exited;
}

/** Journal.open in a process of its own: "OPENED", or the error's code and the pid it names. */
function openElsewhere(path: string): { readonly outcome: string; readonly pid?: number } {
  requireBuilt();
  const script = `
    const { Journal } = await import(${JSON.stringify(JOURNAL_JS)});
    try { Journal.open({ path: ${JSON.stringify(path)}, nodeId: ${JSON.stringify(NODE)} }).close(); console.log(JSON.stringify({ outcome: 'OPENED' })); }
    catch (error) { console.log(JSON.stringify({ outcome: error.code, pid: error.details?.pid })); }`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { outcome: string; pid?: number };
}

/** BEGIN IMMEDIATE on the lock file with busy_timeout 0 in another process: "FREE" or SQLite's code, and how long it took. */
function tryLockElsewhere(lockPath: string): { readonly outcome: string; readonly ms: number } {
  const script = `
    const Database = require(${JSON.stringify(BETTER_SQLITE3)});
    const db = new Database(${JSON.stringify(lockPath)}, { fileMustExist: true });
    db.pragma('busy_timeout = 0');
    const started = performance.now();
    let outcome = 'FREE';
    try { db.exec('BEGIN IMMEDIATE'); db.exec('ROLLBACK'); } catch (error) { outcome = error.code; }
    console.log(JSON.stringify({ outcome, ms: performance.now() - started }));`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { outcome: string; ms: number };
}

/** A process that has nothing to do with edgepay, alive for the test: the owner of a reused pid. */
function unrelatedProcess(): number {
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  cleanups.push(() => sleeper.kill('SIGKILL'));
  return sleeper.pid!;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * What a holder that died leaves behind, its pid since reused by `pid`: the lock database of a
 * holder killed with SIGKILL, its row rewritten to name `pid` (or, `earlierVersion`, the plain pid
 * file the previous edgepay wrote at the same path).
 */
async function leaveDeadHolder(journalPath: string, pid: number, earlierVersion: boolean): Promise<void> {
  const lockPath = JournalLock.lockPathOf(journalPath);
  if (earlierVersion) {
    writeFileSync(lockPath, `${pid}\n`, { mode: 0o600 });
    return;
  }
  await killHard(await startHolder(journalPath));
  const db = new Database(lockPath, { fileMustExist: true });
  try {
    expect(db.prepare('UPDATE holder SET pid = ?').run(pid).changes).toBe(1);
  } finally {
    db.close();
  }
}

describe("the journal lock is SQLite's write lock, held for its holder's life", () => {
  it('a second connection fails at once with SQLITE_BUSY, in this process and in another; released, the lock is free to both', () => {
    const path = join(tempDir(), 'journal.db');
    const lock = JournalLock.acquire(path);
    const lockPath = JournalLock.lockPathOf(path);
    expect(statSync(lockPath).mode & 0o777).toBe(0o600);
    expect(lockOwner(path)).toBe(process.pid);

    const here = new Database(lockPath, { fileMustExist: true });
    try {
      here.pragma('busy_timeout = 0');
      const started = performance.now();
      expect(() => here.exec('BEGIN IMMEDIATE')).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
      expect(performance.now() - started).toBeLessThan(100);
      const elsewhere = tryLockElsewhere(lockPath);
      expect(elsewhere.outcome).toBe('SQLITE_BUSY');
      expect(elsewhere.ms).toBeLessThan(100);

      lock.release();
      expect(lockOwner(path)).toBeUndefined();
      expect(tryLockElsewhere(lockPath).outcome).toBe('FREE');
      here.exec('BEGIN IMMEDIATE');
      here.exec('ROLLBACK');
    } finally {
      here.close();
    }
  });

  it('a live holder in another process is refused with EDGEPAY_JOURNAL_IN_USE naming its pid; killed with SIGKILL, its lock is free at once', async () => {
    const path = join(tempDir(), 'journal.db');
    const holder = await startHolder(path);
    expect(lockOwner(path)).toBe(holder.pid);
    expect(() => Journal.open({ path, nodeId: NODE })).toThrow(
      expect.objectContaining({ code: 'EDGEPAY_JOURNAL_IN_USE', message: `journal ${path} is in use by process ${holder.pid}`, details: { path, pid: holder.pid } }),
    );
    expect(openElsewhere(path)).toEqual({ outcome: 'EDGEPAY_JOURNAL_IN_USE', pid: holder.pid });

    await killHard(holder);
    // No stale lock to detect or take over: the kernel let go when the process died.
    expect(lockOwner(path)).toBeUndefined();
    const journal = Journal.open({ path, nodeId: NODE });
    try {
      expect(lockOwner(path)).toBe(process.pid);
      expect(openElsewhere(path)).toEqual({ outcome: 'EDGEPAY_JOURNAL_IN_USE', pid: process.pid });
    } finally {
      journal.close();
    }
    // Never deleted: a new file at the path could be locked beside a holder of the old one.
    expect(existsSync(JournalLock.lockPathOf(path))).toBe(true);
    expect(openElsewhere(path)).toEqual({ outcome: 'OPENED' });
  });

  it("asking who holds it, in the holder's own process, leaves it held (a plain read of the file there would free it)", () => {
    const path = join(tempDir(), 'journal.db');
    const journal = Journal.open({ path, nodeId: NODE });
    try {
      for (let i = 0; i < 3; i++) expect(lockOwner(path)).toBe(process.pid);
      expect(() => JournalLock.acquire(path)).toThrow(expect.objectContaining({ code: 'EDGEPAY_JOURNAL_IN_USE' }));
      expect(openElsewhere(path)).toEqual({ outcome: 'EDGEPAY_JOURNAL_IN_USE', pid: process.pid });
    } finally {
      journal.close();
    }
  });
});

describe('a pid reused since the holder died', () => {
  it.each([
    ['a holder killed with SIGKILL left its lock database naming', false],
    ['an earlier version left its pid file naming', true],
  ] as const)('%s a live, unrelated process: the journal opens, and then is held against other processes', async (_what, earlierVersion) => {
    const path = join(tempDir(), 'journal.db');
    Journal.open({ path, nodeId: NODE }).close();
    const reused = unrelatedProcess();
    await leaveDeadHolder(path, reused, earlierVersion);
    expect(isAlive(reused)).toBe(true);

    expect(lockOwner(path)).toBeUndefined();
    const journal = Journal.open({ path, nodeId: NODE });
    try {
      expect(lockOwner(path)).toBe(process.pid);
      expect(openElsewhere(path)).toEqual({ outcome: 'EDGEPAY_JOURNAL_IN_USE', pid: process.pid });
    } finally {
      journal.close();
    }
    // Read only now: a read of the file while this process held it would have released the lock.
    expect(readFileSync(JournalLock.lockPathOf(path)).subarray(0, 16).toString('latin1')).toBe(SQLITE_HEADER);
    expect(isAlive(reused)).toBe(true);
  });

  it.each([
    ["a killed holder's lock database", false],
    ["an earlier version's pid file", true],
  ] as const)(
    '`edgepay node run` starts over %s naming a live, unrelated process, and then holds the journal itself',
    async (_what, earlierVersion) => {
      const dir = tempDir();
      const file = await nodeConfigFile(dir, { api: { socket: 'api.sock' } });
      expect(runCli(['node', 'init', '--config', file]).status).toBe(0);
      const path = join(dir, 'data', 'journal.db');
      const reused = unrelatedProcess();
      await leaveDeadHolder(path, reused, earlierVersion);

      const node = startNodeProcess(file);
      cleanups.push(() => node.kill());
      await eventually(() => lanesOverSocket(join(dir, 'api.sock')), 20_000, `the node to answer on its socket; stderr: ${node.stderr()}`);
      expect(lockOwner(path)).toBe(node.child.pid);
      expect(isAlive(reused)).toBe(true);
    },
    40_000,
  );
});

describe('worker threads: the journal writer runs in one, and is restarted in a new one', () => {
  /** A thread holding the journal, as the supervised journal writer does. */
  async function writerThread(path: string): Promise<Worker> {
    requireBuilt();
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       import(${JSON.stringify(JOURNAL_JS)}).then(({ Journal }) => {
         globalThis.journal = Journal.open({ path: ${JSON.stringify(path)}, nodeId: ${JSON.stringify(NODE)}, singleInstanceInProcess: true });
         parentPort.on('message', (m) => { if (m === 'throw') throw new Error('the thread fails'); });
         parentPort.postMessage('held');
       });`,
      { eval: true },
    );
    worker.on('error', () => undefined);
    cleanups.push(() => worker.terminate());
    await new Promise<void>((resolveHeld, reject) => {
      worker.once('message', () => resolveHeld());
      worker.once('exit', (code) => reject(new Error(`the writer thread exited (${code}) before holding the journal`)));
    });
    return worker;
  }

  it("a live thread's lock is never taken over, not even by the single owner; ended, it is free for the successor", async () => {
    const path = join(tempDir(), 'journal.db');
    const worker = await writerThread(path);
    expect(lockOwner(path)).toBe(process.pid);
    expect(() => Journal.open({ path, nodeId: NODE, singleInstanceInProcess: true })).toThrow(expect.objectContaining({ code: 'EDGEPAY_JOURNAL_IN_USE', details: { path, pid: process.pid } }));
    expect(openElsewhere(path)).toEqual({ outcome: 'EDGEPAY_JOURNAL_IN_USE', pid: process.pid });

    // As the supervisor does: the successor starts once the old thread's 'exit' has come.
    await worker.terminate();
    expect(lockOwner(path)).toBeUndefined();
    const successor = Journal.open({ path, nodeId: NODE, singleInstanceInProcess: true });
    successor.close();
  });

  it.each(['throw', 'terminate'] as const)('a thread that ends holding the journal (%s) leaves it free, even to a successor that does not wait for its exit', async (how) => {
    const path = join(tempDir(), 'journal.db');
    const worker = await writerThread(path);
    const exited = new Promise((done) => worker.once('exit', done));
    if (how === 'throw') worker.postMessage('throw');
    else void worker.terminate();
    // The thread is still being torn down: the single owner waits for its connection to close.
    const successor = Journal.open({ path, nodeId: NODE, singleInstanceInProcess: true });
    try {
      expect(lockOwner(path)).toBe(process.pid);
      expect(openElsewhere(path)).toEqual({ outcome: 'EDGEPAY_JOURNAL_IN_USE', pid: process.pid });
    } finally {
      successor.close();
    }
    await exited;
  });
});

describe.runIf(process.getuid?.() === 0)('run as root', () => {
  it("a lock file made by root takes its directory's owner, so the service's user can still open it", () => {
    const dir = join(tempDir(), 'data');
    mkdirSync(dir);
    chownSync(dir, 65534, 65534);
    const lock = JournalLock.acquire(join(dir, 'journal.db'));
    lock.release();
    expect(statSync(JournalLock.lockPathOf(join(dir, 'journal.db')))).toMatchObject({ uid: 65534, gid: 65534 });
  });
});
