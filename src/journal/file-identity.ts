import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { storedNodeId } from './identity.js';
import { openExistingDatabase } from './open-existing.js';
import { storageError } from './storage-errors.js';

/*
 * What a journal file holds, read without writing: whose it is and how many entries. The SQL on the
 * journal's own tables stays in this module.
 */

/** Who a journal file says it belongs to, and how many entries it holds; nothing is written. */
export interface JournalIdentity {
  /** undefined: the file holds no node's journal (an empty file, another SQLite database). */
  readonly nodeId: string | undefined;
  readonly entries: number;
}

/** The journal's identity alone: no count, which walks the whole table (100 ms on a million entries). */
export function readJournalNodeId(path: string): string | undefined {
  return withJournalFile(path, (db) => storedNodeId(db));
}

export function readJournalIdentity(path: string): JournalIdentity {
  return withJournalFile(path, (db) => {
    const nodeId = storedNodeId(db);
    // A journal stamped with an identity has its entries table (both are made by its first migration).
    const entries = nodeId === undefined ? 0 : (db.prepare('SELECT count(*) FROM entries').pluck().get() as number);
    return { nodeId, entries };
  });
}

function withJournalFile<T>(path: string, read: (db: ReturnType<typeof openExistingDatabase>) => T): T {
  const db = openExistingDatabase(path);
  try {
    db.pragma('query_only = ON');
    return read(db);
  } catch (cause) {
    throw storageError(cause, path);
  } finally {
    db.close();
  }
}

/** What sits at the journal path before a journal is put there. */
export type ExistingJournal = { readonly kind: 'none' } | { readonly kind: 'journal'; readonly entries: number; readonly nodeId: string | undefined } | { readonly kind: 'unreadable'; readonly reason: string };

/**
 * What sits at a journal path, for a tool about to put a journal there: nothing, a journal (its
 * entries and node, an empty file counting as an empty journal), or a file that cannot be read as
 * one (another SQLite database included), which such a tool must not overwrite unasked.
 */
export function inspectJournalPath(path: string): ExistingJournal {
  if (!existsSync(path)) return { kind: 'none' };
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (cause) {
    return { kind: 'unreadable', reason: (cause as Error).message };
  }
  try {
    const entries = (db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
    const meta = db.prepare("SELECT value FROM meta WHERE key = 'node_id'").get() as { value: string } | undefined;
    return { kind: 'journal', entries, nodeId: meta?.value };
  } catch (cause) {
    // An empty file (zero bytes) has no tables yet; it holds nothing to lose.
    return isEmptyDatabase(db) ? { kind: 'journal', entries: 0, nodeId: undefined } : { kind: 'unreadable', reason: (cause as Error).message };
  } finally {
    db.close();
  }
}

function isEmptyDatabase(db: Database.Database): boolean {
  try {
    return db.prepare('SELECT count(*) FROM sqlite_master').pluck().get() === 0;
  } catch {
    return false;
  }
}
