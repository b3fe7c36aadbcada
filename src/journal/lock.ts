import type Database from 'better-sqlite3';
import { chownSync, closeSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { EdgepayError } from '../errors.js';
import { narrowOwnDatabase, openPrivateFile } from '../platform/private-files.js';
import { type HoldOutcome, type LockState, emptyInPlace, holdWriteLock, isUnreadable, openLockDatabase, probeLock } from './lock-database.js';
import { storageError } from './storage-errors.js';

/*
 * One writer per journal, guarded by a lock the kernel releases when its holder dies, however it
 * dies (SIGKILL, the OOM killer, a power cut): SQLite's write lock on `<journal>.lock`, a small
 * database held by one connection for the holder's lifetime (lock-database.ts).
 *
 * Why not a pid file, as before: a pid says who took the lock, not whether they still hold it.
 * After a power cut the pid in the file belongs to whatever process got it on this boot (a box
 * was seen with Mosquitto's), "is that pid alive" says yes, and the node refused to start until
 * someone deleted the file. A lock has to end with its holder, which only the kernel knows.
 *
 * Why not a new native module (flock or fcntl bindings; Node's fs has neither): a compiled addon
 * to build, ship and keep in step with Node on every box, for one lock. better-sqlite3 is here
 * already for the journal, and SQLite takes exactly such locks (fcntl, released at process exit)
 * on every database it opens.
 *
 * Why a database of its own rather than the journal's: the journal's connection takes and drops
 * its locks with every transaction (WAL), and readers (backup, verify, export, the replicator)
 * open it while the writer runs.
 *
 * The file is never deleted, not even on release: an opener of a new file at the same path could
 * lock it while an old holder still held the deleted one, and both would write. It holds no state
 * and never needs deleting; a dead holder leaves it free. The pid in it only names the holder in
 * messages: whether the journal is in use is always the lock's answer.
 *
 * Held while the JournalLock is reachable: better-sqlite3 closes a connection it garbage-collects,
 * so an owner keeps its JournalLock (the Journal does) until it calls release().
 *
 * Worker threads: a connection belongs to the thread that opened it, and when a thread ends
 * (terminated, an uncaught error, process.exit in it) better-sqlite3 closes its connections while
 * Node tears the thread down, before the Worker's 'exit' event; a thread killed while holding the
 * lock leaves it free for its successor. Checked by test/journal-lock.test.ts.
 */

/**
 * How long an opener waits for the lock: long enough to ride out another process looking who
 * holds it (it takes the lock for an instant) or a holder writing its row; a holder that stays
 * is reported this soon.
 */
const PATIENCE_MS = 100;
/** For the single owner in a process, whose predecessor thread may still be closing its connection. */
const SUCCESSOR_PATIENCE_MS = 2_000;
/** Looks at a held lock whose holder has not written its row yet (it does so within microseconds). */
const OWNER_LOOKS = 5;
const OWNER_LOOK_INTERVAL_MS = 20;

export class JournalLock {
  private released = false;

  private constructor(
    readonly lockPath: string,
    private readonly db: Database.Database,
  ) {}

  static lockPathOf(journalPath: string): string {
    return `${journalPath}.lock`;
  }

  /**
   * Takes the journal's lock, or fails with EDGEPAY_JOURNAL_IN_USE naming the holder's pid. A lock
   * whose holder died is free: nothing is stale, nothing is taken over.
   *
   * `sameProcessIsStale`: for an owner that is the single instance in its process (the supervised
   * journal writer, started again only after its previous thread exited): wait up to 2 s rather
   * than 100 ms, for a predecessor thread's connection that Node is still closing. A live holder,
   * in this process or another, is never taken over.
   *
   * A file an earlier version left (a plain pid) or any other file SQLite cannot read is made an
   * empty lock database in place: no holder can hold a file SQLite cannot read.
   */
  static acquire(journalPath: string, options: { sameProcessIsStale?: boolean } = {}): JournalLock {
    const lockPath = JournalLock.lockPathOf(journalPath);
    const patienceMs = options.sameProcessIsStale === true ? SUCCESSOR_PATIENCE_MS : PATIENCE_MS;
    makeLockFile(lockPath);
    for (let emptied = false; ; emptied = true) {
      let db: Database.Database;
      try {
        db = openLockDatabase(lockPath);
      } catch (cause) {
        throw storageError(cause, lockPath);
      }
      let outcome: HoldOutcome;
      try {
        outcome = holdWriteLock(db, patienceMs);
      } catch (cause) {
        db.close();
        if (!emptied && isUnreadable(cause)) {
          try {
            emptyInPlace(lockPath);
          } catch (failure) {
            throw storageError(failure, lockPath);
          }
          continue;
        }
        throw storageError(cause, lockPath);
      }
      if (outcome.held) return new JournalLock(lockPath, db);
      db.close();
      throw inUse(journalPath, outcome.pid);
    }
  }

  /** Ends the lock: closing the connection ends its transaction, and the kernel's lock with it. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.db.close();
  }
}

/**
 * The pid of the process holding the journal's lock, or undefined when it is free (a dead
 * holder's lock is free). Creates nothing. Safe in the holder's own process: it looks through
 * SQLite, never by reading the file.
 */
export function lockOwner(journalPath: string): number | undefined {
  const lockPath = JournalLock.lockPathOf(journalPath);
  for (let look = 0; look < OWNER_LOOKS; look++) {
    let state: LockState;
    try {
      state = probeLock(lockPath);
    } catch (cause) {
      throw storageError(cause, lockPath);
    }
    if (!state.held) return undefined;
    if (state.pid !== undefined) return state.pid;
    sleepMs(OWNER_LOOK_INTERVAL_MS);
  }
  // Held, and still no row naming its holder: not an edgepay holder (someone's sqlite3 shell).
  throw inUse(journalPath, undefined);
}

function inUse(journalPath: string, pid: number | undefined): EdgepayError {
  const who = pid === undefined ? 'another process' : `process ${pid}`;
  return new EdgepayError('EDGEPAY_JOURNAL_IN_USE', `journal ${journalPath} is in use by ${who}`, { path: journalPath, ...(pid === undefined ? {} : { pid }) });
}

/**
 * The lock file, 0600 like the journal (SQLite gives its rollback journal the same mode). Made by
 * root (a command run by hand), it takes its directory's owner, as SQLite gives a root-made -wal
 * its database's owner: a root-owned lock file would keep the service's user out of it for good.
 */
function makeLockFile(lockPath: string): void {
  let fd: number;
  try {
    fd = openPrivateFile(lockPath, 'wx');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') throw storageError(cause, lockPath);
    narrowOwnDatabase(lockPath);
    return;
  }
  // A new file: no connection of this process can hold a lock on it yet, so closing is safe.
  closeSync(fd);
  if (process.getuid?.() === 0) {
    const { uid, gid } = statSync(dirname(lockPath));
    if (uid !== 0) chownSync(lockPath, uid, gid);
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
