import type { ForwardBatch } from './batch.js';
import type { EntryOutcome } from './outcomes.js';
import type { HeldOriginal, Plan } from './plan.js';

/** What a backend must read for a batch, once it knows the origin's head. */
export interface BatchNeeds {
  /** Sequence range of batch entries the centre may already hold. */
  readonly heldFrom: number;
  readonly heldTo: number;
  /** Originals of the batch's follow-ups that are not in the batch itself. */
  readonly refSeqs: number[];
  /** Idempotency keys of the batch's approved authorizations. */
  readonly approvalKeys: string[];
  readonly cardTokens: string[];
  /** Idempotency keys of the batch's approvals taken online: the centre's record of each is read. */
  readonly onlineKeys: string[];
}

export function batchNeeds(batch: ForwardBatch, headSeq: number): BatchNeeds {
  const first = batch.entries[0]?.seq ?? 1;
  const last = batch.entries[batch.entries.length - 1]?.seq ?? 0;
  const refSeqs = new Set<number>();
  const approvalKeys: string[] = [];
  const cardTokens = new Set<string>();
  const onlineKeys: string[] = [];
  for (const entry of batch.entries) {
    // Originals the plan will not see as new entries: before the batch, or in it but held already.
    if (entry.refSeq !== null && (entry.refSeq < first || entry.refSeq <= headSeq)) refSeqs.add(entry.refSeq);
    if (entry.kind === 'authorization' && entry.decision.approved) {
      approvalKeys.push(entry.idempotencyKey);
      cardTokens.add(entry.cardToken);
      if (entry.decision.mode === 'online') onlineKeys.push(entry.idempotencyKey);
    }
  }
  return { heldFrom: first, heldTo: Math.min(last, headSeq), refSeqs: [...refSeqs], approvalKeys, cardTokens: [...cardTokens], onlineKeys };
}

/** Rows as backends read them back, turned into the planner's view. */
export interface HeldRow {
  readonly seq: number;
  readonly hash: string;
  readonly result: EntryOutcome['result'];
  readonly reason: string | null;
  readonly merchantMinor: number;
}

export interface OriginalRow {
  readonly seq: number;
  readonly kind: HeldOriginal['kind'];
  readonly amountMinor: number;
  readonly currency: string;
  readonly postedAccount: string | null;
}

export interface ReversalRow {
  readonly refSeq: number;
  readonly reversedMinor: number;
  readonly voided: boolean;
}

export function heldMap(rows: readonly HeldRow[]): Map<number, { hash: string; outcome: EntryOutcome }> {
  return new Map(rows.map((r) => [r.seq, { hash: r.hash, outcome: { seq: r.seq, result: r.result, reason: r.reason, merchantMinor: r.merchantMinor } }]));
}

export function originalsMap(originals: readonly OriginalRow[], reversals: readonly ReversalRow[]): Map<number, HeldOriginal> {
  const byRef = new Map(reversals.map((r) => [r.refSeq, r]));
  return new Map(
    originals.map((o) => {
      const reversal = byRef.get(o.seq);
      return [o.seq, { ...o, reversedMinor: reversal?.reversedMinor ?? 0, voided: reversal?.voided ?? false }];
    }),
  );
}

/** Net change per account of the plan's transfers: one balance update per account per batch. */
export function balanceDeltas(plan: Extract<Plan, { ok: true }>): Map<string, number> {
  const deltas = new Map<string, number>();
  for (const transfer of plan.transfers) {
    for (const posting of transfer.postings) deltas.set(posting.account, (deltas.get(posting.account) ?? 0) + posting.amountMinor);
  }
  return deltas;
}
