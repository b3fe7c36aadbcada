import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { EdgepayError } from '../errors.js';
import type { JournalEntry } from './entry.js';
import { UNFORWARDED_TABLE_SINCE } from './schema.js';
import { BULK_ENTRY_COLUMNS, ENTRY_COLUMNS, type EntryRow, bulkRowToEntry, rowToEntry } from './row.js';

/**
 * The node's own journal, read through a connection of its own opened read-only, from whichever
 * thread needs it (the replicator's outbox, the lanes' lookups by idempotency key). The journal
 * writer actor stays its only writer; in WAL mode this reader never blocks it, and each read is
 * one short statement, so the reader never holds a snapshot long enough to starve a checkpoint.
 * Only committed rows are visible, so nothing read here can be undone by a crash.
 */
export interface JournalTotals {
  readonly entries: number;
  readonly sumsMinor: Readonly<Record<string, number>>;
  readonly unforwarded: number;
  readonly unforwardedSumsMinor: Readonly<Record<string, number>>;
  readonly oldestUnforwardedWallMs: number | null;
  /** Forwarded entries by the centre's outcome (settled, exception, recorded; 'forwarded' when not recorded). */
  readonly outcomes: Readonly<Record<string, number>>;
}

/** One entry as a reconciliation report lists it. */
export interface EntryBrief {
  readonly seq: number;
  readonly idempotencyKey: string;
  readonly kind: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly reason: string | null;
}

export class JournalReader {
  private db: Database.Database | undefined;
  private selectFrom: Database.Statement | undefined;
  private selectHead: Database.Statement | undefined;
  private selectByKey: Database.Statement | undefined;

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
    const entries = (this.selectFrom.all(fromSeq, limit) as unknown[][]).map(bulkRowToEntry);
    entries.forEach((entry, i) => {
      if (entry.seq !== fromSeq + i || entry.nodeId !== this.nodeId) {
        throw new EdgepayError('EDGEPAY_JOURNAL_READ_MISMATCH', `${this.path}: expected entry ${fromSeq + i} of ${this.nodeId}, read entry ${entry.seq} of ${entry.nodeId}`, {
          path: this.path,
          expectedSeq: fromSeq + i,
          seq: entry.seq,
          nodeId: entry.nodeId,
        });
      }
    });
    return entries;
  }

  /** The last committed sequence number (0 for an empty or missing journal). */
  headSeq(): number {
    if (this.open() === undefined || this.selectHead === undefined) return 0;
    return (this.selectHead.get() as number | null | undefined) ?? 0;
  }

  /** The committed entry recorded under an idempotency key; undefined while the journal does not exist yet. */
  findByIdempotencyKey(key: string): JournalEntry | undefined {
    if (this.open() === undefined || this.selectByKey === undefined) return undefined;
    const row = this.selectByKey.get(key) as EntryRow | undefined;
    return row ? rowToEntry(row) : undefined;
  }

  /** The first entry the centre does not hold yet; undefined when all are forwarded (or there are none). */
  firstUnforwardedSeq(): number | undefined {
    const db = this.open();
    if (db === undefined) return undefined;
    const sql = hasUnforwardedTable(db) ? 'SELECT min(seq) FROM unforwarded' : 'SELECT e.seq FROM entries e LEFT JOIN forwarded f ON f.seq = e.seq WHERE f.seq IS NULL ORDER BY e.seq LIMIT 1';
    return (db.prepare(sql).pluck().get() as number | null | undefined) ?? undefined;
  }

  /** Counts and sums per currency, over all entries and over those not forwarded yet: the node's side of reconciliation. */
  totals(): JournalTotals {
    const empty: JournalTotals = { entries: 0, sumsMinor: {}, unforwarded: 0, unforwardedSumsMinor: {}, oldestUnforwardedWallMs: null, outcomes: {} };
    if (this.open() === undefined || this.db === undefined) return empty;
    const rows = this.db
      .prepare(
        `SELECT e.currency AS currency, count(*) AS n, sum(e.amount_minor) AS total,
                sum(f.seq IS NULL) AS unforwarded, sum(CASE WHEN f.seq IS NULL THEN e.amount_minor ELSE 0 END) AS unforwardedTotal,
                min(CASE WHEN f.seq IS NULL THEN e.wall_ms END) AS oldest
         FROM entries e LEFT JOIN forwarded f ON f.seq = e.seq GROUP BY e.currency`,
      )
      .all() as { currency: string; n: number; total: number; unforwarded: number; unforwardedTotal: number; oldest: number | null }[];
    const outcomes = this.db.prepare("SELECT coalesce(result, 'forwarded') AS result, count(*) AS n FROM forwarded GROUP BY 1").all() as { result: string; n: number }[];
    const totals = { ...empty, sumsMinor: {} as Record<string, number>, unforwardedSumsMinor: {} as Record<string, number> };
    let oldest: number | null = null;
    for (const row of rows) {
      totals.entries += row.n;
      totals.unforwarded += row.unforwarded;
      totals.sumsMinor[row.currency] = row.total;
      if (row.unforwarded > 0) totals.unforwardedSumsMinor[row.currency] = row.unforwardedTotal;
      if (row.oldest !== null && (oldest === null || row.oldest < oldest)) oldest = row.oldest;
    }
    return { ...totals, oldestUnforwardedWallMs: oldest, outcomes: Object.fromEntries(outcomes.map((o) => [o.result, o.n])) };
  }

  /**
   * The backlog without walking the journal: the unforwarded entries (schema 3; before it, entries
   * minus forwarded marks) and the age of the first. Cheap enough for every metrics scrape, also
   * with a million entries.
   */
  backlog(): { readonly unforwarded: number; readonly oldestUnforwardedWallMs: number | null } {
    const db = this.open();
    if (db === undefined) return { unforwarded: 0, oldestUnforwardedWallMs: null };
    const unforwarded = hasUnforwardedTable(db)
      ? (db.prepare('SELECT count(*) FROM unforwarded').pluck().get() as number)
      : (db.prepare('SELECT count(*) FROM entries').pluck().get() as number) - (db.prepare('SELECT count(*) FROM forwarded').pluck().get() as number);
    const first = this.firstUnforwardedSeq();
    const oldest = first === undefined ? null : ((db.prepare('SELECT wall_ms FROM entries WHERE seq = ?').pluck().get(first) as number | undefined) ?? null);
    return { unforwarded, oldestUnforwardedWallMs: oldest };
  }

  /** Entries the centre has not confirmed yet, oldest first, at most `limit`. */
  unforwardedEntries(limit: number): EntryBrief[] {
    const db = this.open();
    if (db === undefined) return [];
    const from = hasUnforwardedTable(db) ? 'FROM unforwarded u CROSS JOIN entries e ON e.seq = u.seq' : 'FROM entries e LEFT JOIN forwarded f ON f.seq = e.seq WHERE f.seq IS NULL';
    return db.prepare(`SELECT e.seq, e.idempotency_key AS idempotencyKey, e.kind, e.amount_minor AS amountMinor, e.currency, NULL AS reason ${from} ORDER BY e.seq LIMIT ?`).all(limit) as EntryBrief[];
  }

  /** Entries the centre refused after the fact (exceptions), with its reason, at most `limit`. */
  exceptionEntries(limit: number): EntryBrief[] {
    if (this.open() === undefined || this.db === undefined) return [];
    return this.db
      .prepare(
        `SELECT e.seq, e.idempotency_key AS idempotencyKey, e.kind, e.amount_minor AS amountMinor, e.currency, f.reason AS reason
         FROM forwarded f JOIN entries e ON e.seq = f.seq WHERE f.result = 'exception' ORDER BY e.seq LIMIT ?`,
      )
      .all(limit) as EntryBrief[];
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
      this.selectFrom = db.prepare(`SELECT ${BULK_ENTRY_COLUMNS} FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?`).raw(true);
      this.selectHead = db.prepare('SELECT max(seq) FROM entries').pluck();
      this.selectByKey = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE idempotency_key = ?`);
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

/**
 * Read per call, not at open: a reader may open a journal of an older schema that its writer
 * migrates a moment later. Reading the version costs no I/O beyond the database header.
 */
function hasUnforwardedTable(db: Database.Database): boolean {
  return (db.pragma('user_version', { simple: true }) as number) >= UNFORWARDED_TABLE_SINCE;
}

/** A journal's head read once, through a connection opened and closed for it (0 when there is none yet). */
export function journalHeadOf(path: string, nodeId: string): number {
  const reader = new JournalReader(path, nodeId);
  try {
    return reader.headSeq();
  } finally {
    reader.close();
  }
}
