import Database from 'better-sqlite3';
import { EdgepayError } from '../errors.js';
import type { JournalEntry } from './entry.js';
import { ENTRY_COLUMNS, type EntryRow, rowToEntry } from './row.js';

/** One JSON object per entry; binary fields as base64 so the lines stay plain text. */
export function entryToJson(entry: JournalEntry): Record<string, unknown> {
  return { ...entry, sealedCard: entry.sealedCard === null ? null : Buffer.from(entry.sealedCard).toString('base64') };
}

/** Streams entries of a journal file from its own read-only connection (safe while a node writes). */
export function* exportEntries(path: string, fromSeq = 1): Generator<JournalEntry> {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_NOT_FOUND', `--db: cannot open journal ${path}: ${(cause as Error).message}`, { path }, { cause });
  }
  try {
    const rows = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE seq >= ? ORDER BY seq`).iterate(fromSeq);
    for (const row of rows) yield rowToEntry(row as EntryRow);
  } finally {
    db.close();
  }
}
