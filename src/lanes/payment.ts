import type { Decision } from '../authorize/codes.js';
import type { ErrorCode } from '../errors.js';
import type { JournalEntry } from '../journal/entry.js';

export type PaymentStatus =
  | 'waiting_for_card'
  | 'authorizing'
  | 'approved'
  | 'declined'
  /** Cancelled by the POS (or by a stopping node) before a card was read. */
  | 'cancelled'
  /** Ended before a decision: reader unplugged, no card in time, unreadable card data. No money moved. */
  | 'failed';

export interface PaymentRequestBody {
  readonly lane: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly reference: string;
  readonly idempotencyKey: string;
}

/** A payment as the POS sees it; `id` is the POS's idempotency key. */
export interface Payment {
  readonly id: string;
  readonly lane: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly reference: string;
  readonly status: PaymentStatus;
  readonly decision: Decision | null;
  /** The last 4 digits only: see CardFacts for why no other digit is kept. */
  readonly card: { readonly last4: string } | null;
  readonly journalSeq: number | null;
  readonly error: { readonly code: ErrorCode | string; readonly message: string } | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export function isFinal(status: PaymentStatus): boolean {
  return status !== 'waiting_for_card' && status !== 'authorizing';
}

/** A payment rebuilt from its journal entry, for a POS asking after the node restarted. */
export function paymentFromEntry(entry: JournalEntry): Payment {
  const at = new Date(entry.wallMs).toISOString();
  return {
    id: entry.idempotencyKey,
    lane: entry.lane ?? '',
    amountMinor: entry.amountMinor,
    currency: entry.currency,
    reference: entry.reference ?? '',
    status: entry.decision.approved ? 'approved' : 'declined',
    decision: entry.decision as Decision,
    card: { last4: entry.cardLast4 },
    journalSeq: entry.seq,
    error: null,
    createdAt: at,
    updatedAt: at,
  };
}
