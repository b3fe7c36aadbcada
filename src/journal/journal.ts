import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { EdgepayError } from '../errors.js';
import { type Clock, systemClock } from '../platform/clock.js';
import { makePrivateDirectory, narrowOwnDatabase, preparePrivateDatabase } from '../platform/private-files.js';
import { entryHashBytes } from './canonical.js';
import { entryRow, sealEntry, withHash } from './entry-builder.js';
import { type EntryDraft, GENESIS_HASH, type JournalEntry } from './entry.js';
import { type ExposureRow, exposureRows } from './exposure-rows.js';
import { ENTRY_COLUMNS, type EntryRow, INSERT_ENTRY_SQL, rowToEntry } from './row.js';
import { storedNodeId } from './identity.js';
import { JournalLock } from './lock.js';
import { migrate } from './schema.js';
import { storageError } from './storage-errors.js';
import { verifyChain } from './verify.js';
import { ID_RULE, isId } from '../ids.js';

export interface JournalOptions {
  readonly path: string;
  /** The node that owns this journal; a journal is never reused by another node. */
  readonly nodeId: string;
  readonly clock?: Clock;
  /** Entries re-hashed at open (from the tail back). The full walk is `edgepay journal verify`. */
  readonly tailCheckEntries?: number;
  /** How long to wait for a lock held by another connection before failing with EDGEPAY_JOURNAL_LOCKED. */
  readonly busyTimeoutMs?: number;
  /** Caps the database size in pages (SQLite max_page_count): a hard disk budget, also used by tests. */
  readonly maxPageCount?: number;
  /** The single writer of its process: wait longer for a lock a previous thread of it is still releasing (see JournalLock.acquire). */
  readonly singleInstanceInProcess?: boolean;
  /**
   * Open only a journal that exists and carries its node's identity, never create one. A node
   * opens its journal this way: a new, empty journal under a mistyped path would hand out
   * sequence numbers the real journal already used, a fork nobody is warned about.
   */
  readonly mustExist?: boolean;
}

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** Appends within one batch; each sees the ones staged before it. */
export interface BatchWriter {
  /**
   * Appends the draft, unless its idempotency key is already in the journal (or staged earlier in
   * this batch): then nothing is written and the existing entry comes back with `existing: true`.
   */
  appendOrFind(draft: EntryDraft): { readonly entry: JournalEntry; readonly existing: boolean };
  findByIdempotencyKey(key: string): JournalEntry | undefined;
  getBySeq(seq: number): JournalEntry | undefined;
  /** Entries that refer to `seq` (its voids, refunds, captures), staged ones included. */
  followUpsOf(seq: number): JournalEntry[];
}

const DEFAULT_TAIL_CHECK = 1024;

/** The centre's word on one forwarded entry; null result for entries marked by an older edgepay. */
export interface ForwardedOutcome {
  readonly seq: number;
  readonly result: 'settled' | 'exception' | 'recorded' | null;
  readonly reason: string | null;
}

/**
 * The node's append-only, hash-chained payment journal on SQLite (WAL, synchronous=FULL).
 * Only one writer uses it; `writeBatch` is the unit of durability: one transaction, one fsync.
 * The in-memory head moves only after a commit succeeded, so a failed batch leaves no trace.
 */

export class Journal {
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly insertEntry: Database.Statement;
  private readonly selectByKey: Database.Statement;
  private readonly selectBySeq: Database.Statement;
  private readonly upsertHead: Database.Statement;
  private readonly selectFollowUps: Database.Statement;
  private head: ChainHead;
  /** The head's hash as bytes, the form the next entry's hash is computed from. */
  private headHashBytes: Buffer;
  private closed = false;
  /** Commits since the WAL was last copied back into the database: what an idle checkpoint would move. */
  private commitsSinceCheckpoint = 0;
  /** Set after an I/O failure: after a failed fsync the OS may have dropped dirty pages, so no more writes until reopened. */
  private failure: EdgepayError | undefined;

  private constructor(
    db: Database.Database,
    readonly path: string,
    readonly nodeId: string,
    clock: Clock,
    private readonly lock: JournalLock,
  ) {
    this.db = db;
    this.clock = clock;
    this.insertEntry = db.prepare(INSERT_ENTRY_SQL);
    this.selectByKey = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE idempotency_key = ?`);
    this.selectBySeq = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE seq = ?`);
    this.selectFollowUps = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE ref_seq = ? ORDER BY seq`);
    this.upsertHead = db.prepare('INSERT INTO chain_head (id, seq, hash) VALUES (1, @seq, @hash) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash');
    const row = db.prepare('SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: Buffer } | undefined;
    this.head = row ? { seq: row.seq, hash: row.hash.toString('hex') } : { seq: 0, hash: GENESIS_HASH };
    this.headHashBytes = Buffer.from(this.head.hash, 'hex');
  }

  /**
   * Opens (creating if needed) and checks the journal. SQLite's WAL recovery discards a torn tail
   * (a frame whose checksum fails), so what remains is exactly the committed prefix; the tail of the
   * chain is then re-hashed and the head compared, and a broken chain refuses to open.
   */
  static open(options: JournalOptions): Journal {
    if (!isId(options.nodeId)) {
      throw new EdgepayError('EDGEPAY_BAD_INPUT', `nodeId: ${JSON.stringify(options.nodeId)} must be ${ID_RULE}`, { field: 'nodeId', value: options.nodeId });
    }
    const mustExist = options.mustExist === true;
    if (mustExist && !existsSync(options.path)) {
      throw journalMissing(options.path);
    }
    let db: Database.Database;
    let lock: JournalLock;
    try {
      if (!mustExist) makePrivateDirectory(dirname(options.path));
      lock = JournalLock.acquire(options.path, { sameProcessIsStale: options.singleInstanceInProcess === true });
    } catch (cause) {
      throw storageError(cause, options.path);
    }
    try {
      // Under the lock: a journal file is made (0600, so its -wal and -shm are too) only by its writer.
      if (mustExist) narrowOwnDatabase(options.path);
      else preparePrivateDatabase(options.path);
    } catch (cause) {
      lock.release();
      throw storageError(cause, options.path);
    }
    try {
      // fileMustExist closes the gap between the check above and this open.
      db = new Database(options.path, { fileMustExist: mustExist });
    } catch (cause) {
      lock.release();
      throw mustExist && !existsSync(options.path) ? journalMissing(options.path) : storageError(cause, options.path);
    }
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 2000))}`);
      // Before anything writes (switching to WAL writes the header): a file without an identity is not a journal to adopt.
      if (mustExist) requireIdentity(db, options.path);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new EdgepayError('EDGEPAY_JOURNAL_IO', `${options.path}: cannot enable WAL mode (got ${String(mode)})`);
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      if (options.maxPageCount !== undefined) db.pragma(`max_page_count = ${Math.trunc(options.maxPageCount)}`);
      migrate(db, options.path);
      claimNodeId(db, options.path, options.nodeId);
      checkTail(db, options.path, options.nodeId, options.tailCheckEntries ?? DEFAULT_TAIL_CHECK);
      return new Journal(db, options.path, options.nodeId, options.clock ?? systemClock, lock);
    } catch (cause) {
      db.close();
      lock.release();
      throw storageError(cause, options.path);
    }
  }

  chainHead(): ChainHead {
    return this.head;
  }

  /**
   * Runs `stage` inside one transaction; its appends become durable together when it returns. If
   * `stage` or the commit throws, nothing is written and the head does not move.
   */
  writeBatch<T>(stage: (writer: BatchWriter) => T): T {
    this.assertOpen();
    if (this.failure) throw this.failure;
    const startHead = this.head;
    const staged = new Map<string, JournalEntry>();
    const stagedBySeq = new Map<number, JournalEntry>();
    let head = startHead;
    let headHashBytes = this.headHashBytes;
    const writer: BatchWriter = {
      appendOrFind: (draft) => {
        const known = staged.get(draft.idempotencyKey);
        if (known) return { entry: known, existing: true };
        const hashed = sealEntry(draft, head.seq + 1, this.nodeId, this.clock, head.hash);
        const hashBytes = entryHashBytes(hashed, headHashBytes);
        const entry = withHash(hashed, hashBytes.toString('hex'));
        try {
          this.insertEntry.run(entryRow(entry, headHashBytes, hashBytes));
        } catch (cause) {
          // Looking a key up only when the insert collides keeps a read off every append.
          if ((cause as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw cause;
          const existing = this.findByIdempotencyKey(draft.idempotencyKey);
          if (!existing) throw cause;
          return { entry: existing, existing: true };
        }
        staged.set(entry.idempotencyKey, entry);
        stagedBySeq.set(entry.seq, entry);
        head = { seq: entry.seq, hash: entry.hash };
        headHashBytes = hashBytes;
        return { entry, existing: false };
      },
      findByIdempotencyKey: (key) => staged.get(key) ?? this.findByIdempotencyKey(key),
      getBySeq: (seq) => stagedBySeq.get(seq) ?? this.getBySeq(seq),
      followUpsOf: (seq) => [...this.followUpsOf(seq), ...[...stagedBySeq.values()].filter((e) => e.refSeq === seq)],
    };
    try {
      // IMMEDIATE takes the write lock first, so busy_timeout applies; a deferred transaction that reads
      // first would get SQLITE_BUSY at once when it tries to write, without waiting.
      const result = this.db
        .transaction(() => {
          const value = stage(writer);
          if (head.seq !== startHead.seq) this.upsertHead.run({ seq: head.seq, hash: Buffer.from(head.hash, 'hex') });
          return value;
        })
        .immediate();
      this.head = head;
      this.headHashBytes = headHashBytes;
      this.commitsSinceCheckpoint++;
      return result;
    } catch (cause) {
      // Only SQLite's own failures are storage faults; anything else came from `stage` and is the caller's.
      if (!(cause instanceof Database.SqliteError)) throw cause;
      const error = storageError(cause, this.path);
      if (error.code === 'EDGEPAY_JOURNAL_IO') this.failure = error;
      throw error;
    }
  }

  /**
   * Appends one entry in its own transaction (one fsync); batch through `writeBatch` for speed.
   * A draft whose idempotency key is already in the journal is an error here: use appendOrFind.
   */
  append(draft: EntryDraft): JournalEntry {
    return this.writeBatch((writer) => {
      const { entry, existing } = writer.appendOrFind(draft);
      if (existing) {
        throw new EdgepayError('EDGEPAY_IDEMPOTENCY_CONFLICT', `idempotency key ${JSON.stringify(draft.idempotencyKey)} is already entry ${entry.seq}`, {
          idempotencyKey: draft.idempotencyKey,
          seq: entry.seq,
        });
      }
      return entry;
    });
  }

  findByIdempotencyKey(key: string): JournalEntry | undefined {
    this.assertOpen();
    const row = this.selectByKey.get(key) as EntryRow | undefined;
    return row ? rowToEntry(row) : undefined;
  }

  getBySeq(seq: number): JournalEntry | undefined {
    this.assertOpen();
    const row = this.selectBySeq.get(seq) as EntryRow | undefined;
    return row ? rowToEntry(row) : undefined;
  }

  followUpsOf(seq: number): JournalEntry[] {
    this.assertOpen();
    return (this.selectFollowUps.all(seq) as EntryRow[]).map(rowToEntry);
  }

  /** Entries in sequence order from `fromSeq`, streamed. */
  *entries(fromSeq = 1): Generator<JournalEntry> {
    this.assertOpen();
    const rows = this.db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE seq >= ? ORDER BY seq`).iterate(fromSeq);
    for (const row of rows) yield rowToEntry(row as EntryRow);
  }

  /** Records that the centre holds these entries; forwarding state is outside the chain. */
  markForwarded(seqs: readonly number[], wallMs = this.clock.wallMs()): void {
    this.recordForwarded(
      seqs.map((seq) => ({ seq, result: null, reason: null })),
      wallMs,
    );
  }

  /**
   * Records the centre's outcome for each entry it now holds, in one transaction. An entry marked
   * before keeps its first outcome: the centre answers a redelivery with the same outcome anyway.
   */
  recordForwarded(outcomes: readonly ForwardedOutcome[], wallMs = this.clock.wallMs()): void {
    this.assertOpen();
    const insert = this.db.prepare('INSERT OR IGNORE INTO forwarded (seq, wall_ms, result, reason) VALUES (?, ?, ?, ?)');
    try {
      this.db.transaction(() => {
        for (const outcome of outcomes) insert.run(outcome.seq, wallMs, outcome.result, outcome.reason);
      })();
    } catch (cause) {
      throw storageError(cause, this.path);
    }
  }

  /** What a node's offline exposure is rebuilt from: see exposure-rows.ts. */
  exposureRows(sinceWallMs: number): IterableIterator<ExposureRow> {
    this.assertOpen();
    return exposureRows(this.db, sinceWallMs);
  }

  /** Sequence numbers already forwarded, in order. */
  *forwardedSeqs(): Generator<number> {
    this.assertOpen();
    for (const row of this.db.prepare('SELECT seq FROM forwarded ORDER BY seq').iterate()) yield (row as { seq: number }).seq;
  }

  /** Commits written to the WAL since the last checkpoint this journal ran. */
  get uncheckpointedCommits(): number {
    return this.commitsSinceCheckpoint;
  }

  /**
   * Copies the WAL back into the database now (PASSIVE: never waits for readers), so the next
   * commit can start the WAL from its beginning again. Meant for idle moments: SQLite's own
   * automatic checkpoint runs inside whichever commit crosses its threshold and holds that
   * payment up; run between payments, the commits find a WAL that is already reset and
   * preallocated, and fsync no file-size change. A checkpoint that cannot finish (a reader holds
   * old pages) is harmless and is simply tried again later.
   */
  checkpoint(): { readonly walFrames: number; readonly checkpointedFrames: number } {
    this.assertOpen();
    if (this.failure) throw this.failure;
    try {
      const [row] = this.db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
      this.commitsSinceCheckpoint = 0;
      return { walFrames: row?.log ?? 0, checkpointedFrames: row?.checkpointed ?? 0 };
    } catch (cause) {
      const error = storageError(cause, this.path);
      if (error.code === 'EDGEPAY_JOURNAL_IO') this.failure = error;
      throw error;
    }
  }

  /** The underlying connection, for the backup API and read-only reporting. */
  connection(): Database.Database {
    this.assertOpen();
    return this.db;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.db.close();
    } finally {
      this.lock.release();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new EdgepayError('EDGEPAY_JOURNAL_CLOSED', `journal ${this.path} is closed`, { path: this.path });
  }
}

function journalMissing(path: string): EdgepayError {
  return new EdgepayError('EDGEPAY_JOURNAL_MISSING', `no journal at ${path}; a node's journal is made by \`edgepay node init\` (or restored, or rebuilt from the peers), never when it is opened`, { path });
}

/** Refuses a file that holds no journal of any node: an empty file, or another SQLite database. */
function requireIdentity(db: Database.Database, path: string): void {
  if (storedNodeId(db) === undefined) {
    throw new EdgepayError('EDGEPAY_JOURNAL_MISSING', `${path} exists but holds no node's journal (no node identity): it is neither adopted nor written over`, { path });
  }
}

function claimNodeId(db: Database.Database, path: string, nodeId: string): void {
  const stored = storedNodeId(db);
  if (stored === undefined) {
    db.prepare("INSERT INTO meta (key, value) VALUES ('node_id', ?)").run(nodeId);
    return;
  }
  if (stored !== nodeId) {
    throw new EdgepayError('EDGEPAY_JOURNAL_NODE_MISMATCH', `${path} is the journal of node ${JSON.stringify(stored)}, not ${JSON.stringify(nodeId)}; a journal is never shared between nodes`, {
      path,
      journalNodeId: stored,
      nodeId,
    });
  }
}

function checkTail(db: Database.Database, path: string, nodeId: string, tailEntries: number): void {
  const stats = db.prepare('SELECT count(*) AS n, max(seq) AS last FROM entries').get() as { n: number; last: number | null };
  const last = stats.last ?? 0;
  const fromSeq = Math.max(1, last - Math.max(0, tailEntries) + 1);
  let report = stats.n === last ? verifyChain(db, { nodeId, fromSeq }) : undefined;
  // A gap or a bad tail is located precisely by a full walk, so the message names the first bad entry.
  if (!report?.ok) report = verifyChain(db, { nodeId });
  if (!report.ok && report.problem) {
    throw new EdgepayError('EDGEPAY_JOURNAL_CHAIN_BROKEN', `${path}: refusing to start on a broken journal: first bad sequence ${report.problem.seq}: ${report.problem.message}`, {
      path,
      firstBadSeq: report.problem.seq,
      problem: report.problem.kind,
    });
  }
}
