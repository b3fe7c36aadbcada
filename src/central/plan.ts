import type { JournalEntry } from '../journal/entry.js';
import { cardClearingAccount, merchantAccount, offlineRiskAccount } from './accounts.js';
import type { ForwardBatch } from './batch.js';
import type { EntryOutcome, ExceptionReason } from './outcomes.js';

/** What the centre's card systems say about a card today (the issuer side of stand-in). */
export type CardStanding = 'hot_listed' | 'insufficient_funds';

/** An earlier entry of the origin that a follow-up in the batch refers to, as the centre holds it. */
export interface HeldOriginal {
  readonly seq: number;
  readonly kind: JournalEntry['kind'];
  readonly amountMinor: number;
  readonly currency: string;
  /** The account its sale was debited to (card clearing or offline risk); null when nothing was posted. */
  readonly postedAccount: string | null;
  /** Minor units already given back to the card by voids and refunds. */
  readonly reversedMinor: number;
  readonly voided: boolean;
}

/** The centre's own record of an online authorization under the origin's idempotency key. */
export interface OnlineRecord {
  readonly status: 'approved' | 'declined' | 'reversed';
  readonly amountMinor: number;
  readonly currency: string;
  readonly cardToken: string;
}

/** What the planner needs from the ledger, read inside the transaction that applies the plan. */
export interface LedgerView {
  readonly head: { readonly seq: number; readonly hash: string };
  /** Entries of the batch the centre already holds (seq <= head): their hash and outcome. */
  readonly held: ReadonlyMap<number, { readonly hash: string; readonly outcome: EntryOutcome }>;
  readonly originals: ReadonlyMap<number, HeldOriginal>;
  /** Idempotency keys of the batch's approvals already posted for the store from another origin. */
  readonly keysPostedElsewhere: ReadonlySet<string>;
  readonly standings: ReadonlyMap<string, CardStanding>;
  /** The centre's records of the batch's online approvals, by idempotency key (this origin's only). */
  readonly onlineRecords: ReadonlyMap<string, OnlineRecord>;
  readonly nowMs: number;
  /** An offline approval forwarded later than this after it was taken is past its deadline. */
  readonly forwardDeadlineMs: number;
}

/** One entry as the ledger keeps it: the facts it was posted on, and what became of it. */
export interface LedgerEntryRow {
  readonly origin: string;
  readonly seq: number;
  readonly hash: string;
  readonly store: string;
  readonly kind: JournalEntry['kind'];
  readonly idempotencyKey: string;
  readonly refSeq: number | null;
  readonly amountMinor: number;
  readonly currency: string;
  readonly cardToken: string;
  readonly approved: boolean;
  readonly mode: JournalEntry['decision']['mode'];
  readonly wallMs: number;
  readonly result: EntryOutcome['result'];
  readonly reason: string | null;
  readonly merchantMinor: number;
  readonly postedAccount: string | null;
  readonly sender: string;
  readonly batchId: string;
}

export interface Posting {
  readonly account: string;
  /** Debit positive, credit negative; a transfer's postings sum to zero. */
  readonly amountMinor: number;
}

export interface PlannedTransfer {
  readonly origin: string;
  readonly seq: number;
  readonly currency: string;
  readonly postings: readonly Posting[];
}

export type Plan =
  | {
      readonly ok: true;
      readonly rows: readonly LedgerEntryRow[];
      readonly transfers: readonly PlannedTransfer[];
      readonly head: { readonly seq: number; readonly hash: string };
      readonly outcomes: readonly EntryOutcome[];
    }
  | { readonly ok: false; readonly code: 'EDGEPAY_CENTRE_GAP' | 'EDGEPAY_CENTRE_CONFLICT'; readonly message: string; readonly headSeq: number };

/**
 * Decides what each entry of a checked batch posts, given what the ledger already holds. Pure:
 * the same batch against the same view always gives the same plan, which is what makes a
 * redelivered batch harmless (its entries are already held, so they plan to nothing new).
 */
export function planBatch(batch: ForwardBatch, view: LedgerView): Plan {
  const rows: LedgerEntryRow[] = [];
  const transfers: PlannedTransfer[] = [];
  const outcomes: EntryOutcome[] = [];
  const originals = new Map(view.originals);
  const keysPosted = new Set(view.keysPostedElsewhere);
  let head = view.head;
  for (const entry of batch.entries) {
    if (entry.seq <= view.head.seq) {
      const held = view.held.get(entry.seq);
      if (held === undefined || held.hash !== entry.hash) {
        return conflict(`${batch.origin} entry ${entry.seq} differs from the one the centre holds: two different entries under one sequence number (a fork or a restored journal)`, view);
      }
      outcomes.push(held.outcome);
      continue;
    }
    if (entry.seq !== head.seq + 1) {
      return { ok: false, code: 'EDGEPAY_CENTRE_GAP', message: `${batch.origin}: the centre holds up to entry ${view.head.seq}; send from ${view.head.seq + 1}, not ${entry.seq}`, headSeq: view.head.seq };
    }
    if (entry.prevHash !== head.hash) {
      return conflict(`${batch.origin} entry ${entry.seq} does not link to entry ${head.seq} as the centre holds it (a fork or a restored journal)`, view);
    }
    const decided = decide(batch, entry, view, originals, keysPosted);
    rows.push(decided.row);
    if (decided.transfer !== undefined) transfers.push(decided.transfer);
    outcomes.push({ seq: entry.seq, result: decided.row.result, reason: decided.row.reason, merchantMinor: decided.row.merchantMinor });
    head = { seq: entry.seq, hash: entry.hash };
  }
  return { ok: true, rows, transfers, head, outcomes };
}

interface Decision {
  readonly result: EntryOutcome['result'];
  readonly reason: string | null;
  readonly merchantMinor: number;
  readonly postedAccount: string | null;
  readonly transfer?: PlannedTransfer;
}

interface Decided {
  readonly row: LedgerEntryRow;
  readonly transfer?: PlannedTransfer;
}

function decide(batch: ForwardBatch, entry: JournalEntry, view: LedgerView, originals: Map<number, HeldOriginal>, keysPosted: Set<string>): Decided {
  const decision = decideEntry(batch, entry, view, originals, keysPosted);
  // Built once per entry, field by field: a backlog of a million entries is planned through here.
  const row: LedgerEntryRow = {
    origin: batch.origin,
    seq: entry.seq,
    hash: entry.hash,
    store: batch.store,
    kind: entry.kind,
    idempotencyKey: entry.idempotencyKey,
    refSeq: entry.refSeq,
    amountMinor: entry.amountMinor,
    currency: entry.currency,
    cardToken: entry.cardToken,
    approved: entry.decision.approved,
    mode: entry.decision.mode,
    wallMs: entry.wallMs,
    result: decision.result,
    reason: decision.reason,
    merchantMinor: decision.merchantMinor,
    postedAccount: decision.postedAccount,
    sender: batch.sender,
    batchId: batch.batchId,
  };
  return decision.transfer === undefined ? { row } : { row, transfer: decision.transfer };
}

function decideEntry(batch: ForwardBatch, entry: JournalEntry, view: LedgerView, originals: Map<number, HeldOriginal>, keysPosted: Set<string>): Decision {
  const recorded = (reason: string): Decision => ({ result: 'recorded', reason, merchantMinor: 0, postedAccount: null });
  if (!entry.decision.approved) return recorded(`declined by the node (${entry.decision.code})`);
  const merchant = merchantAccount(batch.store, entry.currency);

  if (entry.kind === 'authorization') {
    const sale = (account: string, result: 'settled' | 'exception', reason: ExceptionReason | null): Decision => {
      keysPosted.add(entry.idempotencyKey);
      originals.set(entry.seq, { seq: entry.seq, kind: entry.kind, amountMinor: entry.amountMinor, currency: entry.currency, postedAccount: account, reversedMinor: 0, voided: false });
      return { result, reason, merchantMinor: entry.amountMinor, postedAccount: account, transfer: transfer(batch.origin, entry.seq, entry.currency, account, merchant, entry.amountMinor) };
    };
    if (keysPosted.has(entry.idempotencyKey)) {
      // The same POS payment approved twice (e.g. retried on another lane): it is paid once.
      return { result: 'exception', reason: 'duplicate', merchantMinor: 0, postedAccount: null };
    }
    if (entry.decision.mode === 'online' && !onlineApprovalHeld(entry, view)) {
      // "Approved online" is a claim about the centre's own decision: without that decision on
      // record for this very payment, nothing is paid; the operator sees why.
      return { result: 'exception', reason: 'online_unrecorded', merchantMinor: 0, postedAccount: null };
    }
    // An online approval was the centre's own decision: only offline approvals are judged after the fact.
    const standing = entry.decision.mode === 'offline' ? view.standings.get(entry.cardToken) : undefined;
    if (standing !== undefined) return sale(offlineRiskAccount(entry.currency), 'exception', standing);
    if (entry.decision.mode === 'offline' && view.nowMs - entry.wallMs > view.forwardDeadlineMs) {
      return sale(offlineRiskAccount(entry.currency), 'exception', 'past_forward_deadline');
    }
    return sale(cardClearingAccount(entry.currency), 'settled', null);
  }

  if (entry.kind === 'capture') return recorded('capture of an authorization already settled when it was forwarded');

  const original = entry.refSeq === null ? undefined : originals.get(entry.refSeq);
  if (original === undefined || original.postedAccount === null) return recorded(`${entry.kind} of entry ${entry.refSeq} which posted nothing`);
  if (original.voided) return recorded(`${entry.kind} of entry ${original.seq} which was voided already`);
  if (original.currency !== entry.currency) return recorded(`${entry.kind} in ${entry.currency} of entry ${original.seq} in ${original.currency}: not posted`);
  const remaining = original.amountMinor - original.reversedMinor;
  const back = entry.kind === 'void' ? remaining : Math.min(entry.amountMinor, remaining);
  if (back <= 0) return recorded(`${entry.kind} of entry ${original.seq} with nothing left to give back`);
  originals.set(original.seq, { ...original, reversedMinor: original.reversedMinor + back, voided: entry.kind === 'void' });
  return { result: 'settled', reason: null, merchantMinor: -back, postedAccount: original.postedAccount, transfer: transfer(batch.origin, entry.seq, entry.currency, merchant, original.postedAccount, back) };
}

function onlineApprovalHeld(entry: JournalEntry, view: LedgerView): boolean {
  const record = view.onlineRecords.get(entry.idempotencyKey);
  return record !== undefined && record.status === 'approved' && record.amountMinor === entry.amountMinor && record.currency === entry.currency && record.cardToken === entry.cardToken;
}

function transfer(origin: string, seq: number, currency: string, debit: string, credit: string, amountMinor: number): PlannedTransfer {
  return {
    origin,
    seq,
    currency,
    postings: [
      { account: debit, amountMinor },
      { account: credit, amountMinor: -amountMinor },
    ],
  };
}

function conflict(message: string, view: LedgerView): Plan {
  return { ok: false, code: 'EDGEPAY_CENTRE_CONFLICT', message, headSeq: view.head.seq };
}
