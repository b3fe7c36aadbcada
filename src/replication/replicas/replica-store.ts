import type Database from 'better-sqlite3';
import { entryRow } from '../../journal/entry-builder.js';
import { GENESIS_HASH, type JournalEntry } from '../../journal/entry.js';
import { ENTRY_COLUMNS, type EntryRow, rowToEntry } from '../../journal/row.js';
import type { VerifyReport } from '../../journal/verify.js';
import type { HeldEntry, VerifiedEntry } from '../../wire/envelope.js';
import { ReplicationError } from '../../wire/errors.js';
import { DEFAULT_PENDING_LIMITS, PendingBuffer, type PendingLimits } from './pending.js';
import { type SharedApprovals, readApprovalsSince } from './replica-approvals.js';
import { verifyReplicaChain } from './replica-verify.js';

export type AppendResult = 'stored' | 'duplicate' | 'pending' | 'pending_full' | 'conflict';

export interface ReplicaHead {
  readonly seq: number;
  readonly hash: string;
}

export interface ConflictReport {
  readonly origin: string;
  readonly seq: number;
  readonly offeredHash: string;
  readonly detail: string;
}

export interface ReplicaStoreOptions {
  readonly pending?: PendingLimits;
  /** A signed entry disagreed with the chain: a fork or a stolen key. Called for drained entries too. */
  readonly onConflict?: (conflict: ConflictReport) => void;
  /** Entries just made durable in the replica, in order: how shared exposure learns of peers' approvals. */
  readonly onStored?: (entries: readonly JournalEntry[]) => void;
}

/** Most entries one range() returns, whatever is asked: the bound on one repair answer's reads. */
export const MAX_RANGE_ENTRIES = 1_024;

interface Head {
  seq: number;
  hash: string;
  hashBytes: Buffer;
}

/**
 * Peers' journals, per origin, as exact copies of their chains: an entry is appended only if it
 * is the next sequence and links to the stored head, so every replica is a contiguous prefix of
 * its origin's journal and verifies with the same canonical hash. Entries that arrive early wait
 * in a bounded in-memory buffer and are appended, in order, once the gap is filled.
 */
export class ReplicaStore {
  private readonly pending: PendingBuffer;
  private readonly heads = new Map<string, Head>();
  private readonly insert: Database.Statement;
  private readonly upsertHead: Database.Statement;
  private readonly selectHash: Database.Statement;
  private readonly selectHead: Database.Statement;
  private readonly selectRange: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly options: ReplicaStoreOptions = {},
  ) {
    this.pending = new PendingBuffer(options.pending ?? DEFAULT_PENDING_LIMITS);
    const params = ENTRY_COLUMNS.split(', ')
      .map((c) => `@${c}`)
      .join(', ');
    // The signature binds as the one anonymous parameter: the journal's row object is bound as it is, not copied.
    this.insert = db.prepare(`INSERT INTO replica_entries (${ENTRY_COLUMNS}, signature) VALUES (${params}, ?)`);
    this.upsertHead = db.prepare('INSERT INTO replica_heads (node_id, seq, hash) VALUES (?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash');
    this.selectHash = db.prepare('SELECT hash FROM replica_entries WHERE node_id = ? AND seq = ?').pluck();
    this.selectHead = db.prepare('SELECT seq, hash FROM replica_heads WHERE node_id = ?');
    this.selectRange = db.prepare(`SELECT ${ENTRY_COLUMNS}, signature FROM replica_entries WHERE node_id = ? AND seq BETWEEN ? AND ? ORDER BY seq LIMIT ?`);
  }

  head(origin: string): ReplicaHead {
    const head = this.loadHead(origin);
    return { seq: head.seq, hash: head.hash };
  }

  /** Entries waiting for a gap to close, over all origins. */
  get pendingCount(): number {
    return this.pending.size;
  }

  append(entry: VerifiedEntry): AppendResult {
    return this.appendAll([entry])[0]!;
  }

  /**
   * The entries of one message (consecutive, one origin), each with its result. A stretch that
   * continues the stored head is written in one transaction with the held entries it lets follow:
   * one head update and one notification for the lot.
   */
  appendAll(entries: readonly VerifiedEntry[]): AppendResult[] {
    const results: AppendResult[] = [];
    let i = 0;
    while (i < entries.length) {
      const entry = entries[i]!;
      const head = this.loadHead(entry.nodeId);
      i++;
      if (entry.seq <= head.seq) results.push(this.compareStored(entry));
      else if (entry.seq > head.seq + 1) results.push(this.hold(entry));
      else if (entry.prevHash !== head.hash) {
        this.conflict(entry, `links to ${entry.prevHash.slice(0, 16)}…, but the stored entry ${head.seq} hashes to ${head.hash.slice(0, 16)}…`);
        results.push('conflict');
      } else {
        const stretch = [entry];
        while (i < entries.length && follows(entries[i]!, stretch.at(-1)!)) stretch.push(entries[i++]!);
        this.appendRun(stretch, head);
        results.push(...stretch.map(() => 'stored' as const));
      }
    }
    return results;
  }

  /** The missing run before the first held entry of `origin`, if anything is held. */
  gap(origin: string): { readonly fromSeq: number; readonly toSeq: number } | undefined {
    const span = this.pending.span(origin);
    if (span === undefined) return undefined;
    return { fromSeq: this.loadHead(origin).seq + 1, toSeq: span.lowest - 1 };
  }

  /** Stored entries of `origin` in [fromSeq, toSeq], at most `limit` (capped at MAX_RANGE_ENTRIES). */
  range(origin: string, fromSeq: number, toSeq: number, limit = MAX_RANGE_ENTRIES): HeldEntry[] {
    const rows = this.selectRange.all(origin, fromSeq, toSeq, Math.min(limit, MAX_RANGE_ENTRIES)) as (EntryRow & { signature: Buffer | null })[];
    return rows.map((row) => ({ ...rowToEntry(row), signature: row.signature }));
  }

  origins(): string[] {
    return this.db.prepare('SELECT node_id FROM replica_heads ORDER BY node_id').pluck().all() as string[];
  }

  /** Walks `origin`'s replica from entry 1 with the journal's canonical hash, like `journal verify`. */
  verify(origin: string): VerifyReport {
    return verifyReplicaChain(this.db, origin);
  }

  /** Offline approvals of every origin since `wallMs`, and the voids that released them (shared exposure, P5). */
  approvalsSince(wallMs: number, maxRows?: number): SharedApprovals {
    return readApprovalsSince(this.db, wallMs, maxRows);
  }

  private compareStored(entry: VerifiedEntry): AppendResult {
    const stored = this.selectHash.get(entry.nodeId, entry.seq) as Buffer | undefined;
    if (stored === undefined) {
      throw new ReplicationError('EDGEPAY_REPLICATION_INVARIANT', `replica of ${entry.nodeId} has head past ${entry.seq} but no entry ${entry.seq}`, {
        origin: entry.nodeId,
        seq: entry.seq,
      });
    }
    const storedHash = stored.toString('hex');
    if (storedHash === entry.hash) return 'duplicate';
    this.conflict(entry, `stored entry ${entry.seq} hashes to ${storedHash.slice(0, 16)}…`);
    return 'conflict';
  }

  private hold(entry: VerifiedEntry): AppendResult {
    const result = this.pending.hold(entry);
    if (result === 'conflict') this.conflict(entry, `a different entry ${entry.seq} is already waiting for the gap to close`);
    return result;
  }

  /** Appends a linked stretch and every held successor that links, in one transaction: one fsync for the lot. */
  private appendRun(stretch: readonly VerifiedEntry[], start: Head): void {
    let head = start;
    const first = stretch[0]!;
    const run: VerifiedEntry[] = [...stretch];
    let last: JournalEntry = stretch.at(-1)!;
    let next = this.pending.take(first.nodeId, last.seq + 1);
    while (next !== undefined) {
      if (next.prevHash !== last.hash) {
        this.conflict(next, `links to ${next.prevHash.slice(0, 16)}…, but entry ${last.seq} hashes to ${last.hash.slice(0, 16)}…`);
        break;
      }
      run.push(next);
      last = next;
      next = this.pending.take(first.nodeId, last.seq + 1);
    }
    this.db.transaction(() => {
      for (const entry of run) {
        const hashBytes = Buffer.from(entry.hash, 'hex');
        this.insert.run(entry.signature, entryRow(entry, head.hashBytes, hashBytes));
        head = { seq: entry.seq, hash: entry.hash, hashBytes };
      }
      this.upsertHead.run(first.nodeId, head.seq, head.hashBytes);
    })();
    // Only after the commit: a failed transaction leaves the cached head where the database is.
    this.heads.set(first.nodeId, head);
    this.pending.dropThrough(first.nodeId, head.seq);
    this.options.onStored?.(run);
  }

  /**
   * Drops the cached heads so the next reads come from the database: after an enclosing
   * transaction failed to commit, runs appended inside it are not there after all.
   */
  forgetCachedHeads(): void {
    this.heads.clear();
  }

  private loadHead(origin: string): Head {
    const cached = this.heads.get(origin);
    if (cached !== undefined) return cached;
    const row = this.selectHead.get(origin) as { seq: number; hash: Buffer } | undefined;
    const head = row ? { seq: row.seq, hash: row.hash.toString('hex'), hashBytes: row.hash } : { seq: 0, hash: GENESIS_HASH, hashBytes: Buffer.alloc(32) };
    this.heads.set(origin, head);
    return head;
  }

  private conflict(entry: VerifiedEntry | JournalEntry, detail: string): void {
    this.options.onConflict?.({ origin: entry.nodeId, seq: entry.seq, offeredHash: entry.hash, detail });
  }
}

function follows(next: JournalEntry, previous: JournalEntry): boolean {
  return next.nodeId === previous.nodeId && next.seq === previous.seq + 1 && next.prevHash === previous.hash;
}
