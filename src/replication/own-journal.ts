import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { JournalEntry } from '../journal/entry.js';
import { ENTRY_COLUMNS, type EntryRow, rowToEntry } from '../journal/row.js';
import { ReplicationError } from './errors.js';

/**
 * The node's own journal, read through a connection of its own opened read-only. The journal
 * writer actor stays its only writer; in WAL mode this reader never blocks it, and each read is
 * one short statement, so the reader never holds a snapshot long enough to starve a checkpoint.
 * Only committed rows are visible, so nothing read here can be undone by a crash.
 */
export class OwnJournal {
  private db: Database.Database | undefined;
  private selectFrom: Database.Statement | undefined;
  private selectHead: Database.Statement | undefined;

  constructor(
    readonly path: string,
    readonly nodeId: string,
  ) {}

  /** False until the journal writer has created the file; the node may start its actors in any order. */
  get available(): boolean {
    return this.open() !== undefined;
  }

  /** Up to `limit` entries from `fromSeq`, in order; [] while the journal does not exist yet. */
  read(fromSeq: number, limit: number): JournalEntry[] {
    if (this.open() === undefined || this.selectFrom === undefined) return [];
    const entries = (this.selectFrom.all(fromSeq, limit) as EntryRow[]).map(rowToEntry);
    entries.forEach((entry, i) => {
      if (entry.seq !== fromSeq + i || entry.nodeId !== this.nodeId) {
        throw new ReplicationError(
          'EDGEPAY_REPLICATION_JOURNAL_MISMATCH',
          `${this.path}: expected entry ${fromSeq + i} of ${this.nodeId}, read entry ${entry.seq} of ${entry.nodeId}`,
          { path: this.path, expectedSeq: fromSeq + i, seq: entry.seq, nodeId: entry.nodeId },
        );
      }
    });
    return entries;
  }

  /** The last committed sequence number (0 for an empty or missing journal). */
  headSeq(): number {
    if (this.open() === undefined || this.selectHead === undefined) return 0;
    return (this.selectHead.get() as number | null | undefined) ?? 0;
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }

  private open(): Database.Database | undefined {
    if (this.db !== undefined) return this.db;
    if (!existsSync(this.path)) return undefined;
    const db = new Database(this.path, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 1000');
      this.selectFrom = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?`);
      this.selectHead = db.prepare('SELECT max(seq) FROM entries').pluck();
    } catch (cause) {
      // A file that exists but has no schema yet: the writer is still creating it. Try again next poll.
      db.close();
      if ((cause as { code?: string }).code === 'SQLITE_ERROR') return undefined;
      throw cause;
    }
    this.db = db;
    return db;
  }
}
