import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { existsSync, truncateSync } from 'node:fs';

/*
 * The mechanism under JournalLock (see lock.ts for why it is this one): SQLite's write lock on a
 * small database beside the journal, held by one connection for as long as its holder lives, and
 * a row in it naming the holder's pid, for messages only.
 *
 * In rollback-journal mode BEGIN IMMEDIATE takes SQLite's RESERVED lock, an fcntl lock on the
 * file. No other connection can take it, in this process (SQLite keeps the locks of all of the
 * process's connections to one file together) or in another (the kernel's lock), until the holder
 * ends its transaction or closes; the holder never ends it. RESERVED still lets readers in, which
 * is what lets anyone read who holds it. locking_mode=EXCLUSIVE would keep readers out as well,
 * so the holder's row could not be read while it was held.
 *
 * This file is only ever opened through SQLite. POSIX locks belong to the process, and closing
 * any descriptor of the file drops all of them: a plain read of it (readFileSync, a copy) by the
 * holder's own process would silently free the lock. SQLite keeps its own descriptors of a locked
 * file open until the last lock on it is gone, so connections made here are safe.
 */

const HOLDER_TABLE = `CREATE TABLE IF NOT EXISTS holder (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  pid INTEGER NOT NULL,
  token TEXT NOT NULL,
  since_ms INTEGER NOT NULL
)`;

/**
 * Rounds of "record the row, then hold" before giving up. A round is lost only to another opener
 * that wrote its own row in the instant between our commit and our next BEGIN, and that opener
 * then finds the lock held and gives up, so the second round nearly always holds.
 */
const MAX_ROUNDS = 4;

/** How long a reader waits for the holder to finish writing its row before saying it cannot tell. */
const ROW_READ_PATIENCE_MS = 200;

export type HoldOutcome = { readonly held: true } | { readonly held: false; readonly pid: number | undefined };

export type LockState = { readonly held: false } | { readonly held: true; readonly pid: number | undefined };

/** Opens the lock database, which must exist: it is made beforehand with the journal's file mode. */
export function openLockDatabase(lockPath: string): Database.Database {
  return new Database(lockPath, { fileMustExist: true });
}

/**
 * Takes the write lock and keeps it until `db` closes. The holder's row has to be committed to be
 * read by others, and committing ends the transaction, so the row is written in one transaction
 * and the lock taken again in the next: held once a transaction begins and finds our own row.
 * `patienceMs` rides out a reader's or another opener's momentary hold; a holder that stays is
 * reported with the pid its row names.
 */
export function holdWriteLock(db: Database.Database, patienceMs: number): HoldOutcome {
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(patienceMs))}`);
  const token = randomUUID();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (cause) {
      if (!isBusy(cause)) throw cause;
      return { held: false, pid: recordedHolder(db) };
    }
    try {
      // A no-op once the table exists, so the transaction that is kept open writes nothing (and
      // leaves no rollback journal beside the file while held).
      db.exec(HOLDER_TABLE);
      const row = db.prepare('SELECT token FROM holder WHERE id = 1').get() as { token: string } | undefined;
      if (row?.token === token) return { held: true };
      db.prepare('INSERT OR REPLACE INTO holder (id, pid, token, since_ms) VALUES (1, ?, ?, ?)').run(process.pid, token, Date.now());
      db.exec('COMMIT');
    } catch (cause) {
      if (db.inTransaction) db.exec('ROLLBACK');
      if (!isBusy(cause)) throw cause;
      return { held: false, pid: recordedHolder(db) };
    }
  }
  return { held: false, pid: recordedHolder(db) };
}

/**
 * Whether a connection holds the lock now, and the pid its row names, without creating anything.
 * The look takes the write lock for an instant when it is free (that is how it tells), which is
 * what the openers' patience is for.
 */
export function probeLock(lockPath: string): LockState {
  if (!existsSync(lockPath)) return { held: false };
  let db: Database.Database;
  try {
    db = openLockDatabase(lockPath);
  } catch (cause) {
    if (!existsSync(lockPath)) return { held: false };
    throw cause;
  }
  try {
    db.pragma('busy_timeout = 0');
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (cause) {
      // A file SQLite cannot read (an earlier version's pid file, garbage) is held by no one:
      // taking the lock needs SQLite to read the file first.
      if (isUnreadable(cause)) return { held: false };
      if (!isBusy(cause)) throw cause;
      db.pragma(`busy_timeout = ${ROW_READ_PATIENCE_MS}`);
      return { held: true, pid: recordedHolder(db) };
    }
    db.exec('ROLLBACK');
    return { held: false };
  } finally {
    db.close();
  }
}

/**
 * Makes a file SQLite cannot read into an empty database, in place. Never replaced or deleted: an
 * opener of a new file at this path could lock it while someone still held the old one, and both
 * would write. Only called with no connection of this process open on it, since the truncation
 * opens and closes a descriptor of the file.
 */
export function emptyInPlace(lockPath: string): void {
  truncateSync(lockPath, 0);
}

/** SQLite says the file is not a database, or a damaged one. */
export function isUnreadable(cause: unknown): boolean {
  const code = sqliteCode(cause);
  return code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT');
}

function isBusy(cause: unknown): boolean {
  return sqliteCode(cause).startsWith('SQLITE_BUSY');
}

/** The pid the holder's row names; undefined before any holder wrote one, or while one is being written. */
function recordedHolder(db: Database.Database): number | undefined {
  try {
    const pid = db.prepare('SELECT pid FROM holder WHERE id = 1').pluck().get();
    return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function sqliteCode(cause: unknown): string {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : '';
}
