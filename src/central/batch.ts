import { entryHash } from '../journal/canonical.js';
import type { JournalEntry } from '../journal/entry.js';

/**
 * What a node forwards to the centre: a contiguous run of one origin's journal entries, with the
 * count and the sum per currency computed by the sender. The centre recomputes both and refuses a
 * batch whose totals differ, so a batch cannot lose or alter an entry on the way unnoticed.
 */
export interface ForwardBatch {
  /** Unique per attempt is not required: the centre's idempotency is by (origin, seq). */
  readonly batchId: string;
  /** The store the origin node belongs to: whose merchant account the payments credit. */
  readonly store: string;
  /** The node whose journal the entries are from. */
  readonly origin: string;
  /** The node sending them: the origin itself, or a peer that took the origin's journal into custody. */
  readonly sender: string;
  readonly entries: readonly JournalEntry[];
  readonly totals: BatchTotals;
  /**
   * The origin's Ed25519 signature of the last entry (the journal's entry signature over origin,
   * seq and hash). A custodian forwards the one its replica holds, so it needs no key of its own.
   */
  readonly signature: Buffer;
}

export interface BatchTotals {
  readonly count: number;
  /** Sum of amountMinor per ISO 4217 currency over every entry of the batch, whatever its kind or decision. */
  readonly sumsMinor: Readonly<Record<string, number>>;
}

export function totalsOf(entries: readonly JournalEntry[]): BatchTotals {
  const sumsMinor: Record<string, number> = {};
  for (const entry of entries) sumsMinor[entry.currency] = (sumsMinor[entry.currency] ?? 0) + entry.amountMinor;
  return { count: entries.length, sumsMinor };
}

export function sameTotals(a: BatchTotals, b: BatchTotals): boolean {
  const currencies = new Set([...Object.keys(a.sumsMinor), ...Object.keys(b.sumsMinor)]);
  return a.count === b.count && [...currencies].every((c) => (a.sumsMinor[c] ?? 0) === (b.sumsMinor[c] ?? 0));
}

export type BatchProblem =
  | { readonly code: 'EDGEPAY_CENTRE_BATCH_EMPTY'; readonly message: string }
  | { readonly code: 'EDGEPAY_CENTRE_BATCH_TOTALS'; readonly message: string }
  | { readonly code: 'EDGEPAY_CENTRE_BATCH_SHAPE'; readonly message: string }
  | { readonly code: 'EDGEPAY_CENTRE_CHAIN_BROKEN'; readonly message: string };

/**
 * The checks that need no database: the sender's totals, one origin, contiguous sequence numbers,
 * and every entry's hash recomputed and linked to the one before it. A batch that passes is an
 * exact piece of the origin's chain; whether it connects to what the centre holds is checked
 * against the stored head.
 */
export function checkBatch(batch: ForwardBatch): BatchProblem | undefined {
  const { entries } = batch;
  if (entries.length === 0) return { code: 'EDGEPAY_CENTRE_BATCH_EMPTY', message: `batch ${batch.batchId} has no entries` };
  const recomputed = totalsOf(entries);
  if (!sameTotals(recomputed, batch.totals)) {
    return {
      code: 'EDGEPAY_CENTRE_BATCH_TOTALS',
      message: `batch ${batch.batchId}: sender's totals ${describe(batch.totals)} differ from the entries' ${describe(recomputed)}`,
    };
  }
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.nodeId !== batch.origin) {
      return { code: 'EDGEPAY_CENTRE_BATCH_SHAPE', message: `batch ${batch.batchId}: entry ${entry.seq} is of node ${entry.nodeId}, not of the origin ${batch.origin}` };
    }
    const previous = entries[i - 1];
    if (previous !== undefined && entry.seq !== previous.seq + 1) {
      return { code: 'EDGEPAY_CENTRE_BATCH_SHAPE', message: `batch ${batch.batchId}: entry ${entry.seq} follows ${previous.seq}; a batch is one contiguous run` };
    }
    if (previous !== undefined && entry.prevHash !== previous.hash) {
      return { code: 'EDGEPAY_CENTRE_CHAIN_BROKEN', message: `batch ${batch.batchId}: entry ${entry.seq} does not link to entry ${previous.seq}` };
    }
    if (entryHash(entry) !== entry.hash) {
      return { code: 'EDGEPAY_CENTRE_CHAIN_BROKEN', message: `batch ${batch.batchId}: entry ${entry.seq}'s content does not hash to its recorded hash` };
    }
  }
  return undefined;
}

export function describe(totals: BatchTotals): string {
  const sums = Object.entries(totals.sumsMinor)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, sum]) => `${currency} ${sum}`)
    .join(', ');
  return `${totals.count} entries (${sums || 'no amounts'})`;
}
