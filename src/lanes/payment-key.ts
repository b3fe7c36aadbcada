import { EdgepayError } from '../errors.js';
import type { JournalEntry } from '../journal/entry.js';
import { type Payment, type PaymentRequestBody, isFinal, paymentFromEntry } from './payment.js';

/*
 * One idempotency key, one payment. These are the pure rules for what a request finds under its
 * key; the lane service applies them in one synchronous step with the claim, so that no two
 * requests can both find the key free.
 */

/** What is already known under a key. */
export type Prior =
  /** A payment of this node still running: a retry joins it. */
  | { readonly kind: 'running'; readonly payment: Payment; readonly done: Promise<Payment> }
  /** A payment that ended (decided, cancelled, failed): a retry gets it again. */
  | { readonly kind: 'ended'; readonly payment: Payment }
  /** The key names something that is not a lane payment (a void, a refund, an entry taken off the lanes). */
  | { readonly kind: 'taken'; readonly what: string };

/** The journal's entry under a key, as what a payment request finds there. */
export function priorOfEntry(entry: JournalEntry): Prior {
  if (entry.kind === 'authorization' && entry.lane !== null) return { kind: 'ended', payment: paymentFromEntry(entry) };
  const what = entry.kind === 'authorization' ? 'a payment taken without a lane' : `a ${entry.kind}`;
  return { kind: 'taken', what: `${what} (journal entry ${entry.seq})` };
}

/**
 * A payment the lanes claimed in an earlier run of the node whose ending was not recorded there:
 * the node stopped (or crashed) in between. Its journal entry, had there been one, would have been
 * found first, so no money moved, and the POS heard no decision. It failed; it never becomes a
 * new payment under the same key.
 */
export function endedByRestart(recorded: Payment): Payment {
  if (isFinal(recorded.status)) return recorded;
  return {
    ...recorded,
    status: 'failed',
    error: { code: 'EDGEPAY_PAYMENT_INTERRUPTED', message: 'the node stopped before this payment was decided; no money moved. Take the sale again under a new idempotency key' },
  };
}

/** What makes two requests under one key the same request. */
type RequestFields = Pick<PaymentRequestBody, 'lane' | 'amountMinor' | 'currency' | 'reference'>;

/** The fields in which a request differs from the payment (or earlier request) its key names; [] when it is the same request. */
export function differences(payment: RequestFields, body: RequestFields): string[] {
  const found: string[] = [];
  if (payment.lane !== body.lane) found.push(`lane ${JSON.stringify(payment.lane)} vs ${JSON.stringify(body.lane)}`);
  if (payment.amountMinor !== body.amountMinor) found.push(`amountMinor ${payment.amountMinor} vs ${body.amountMinor}`);
  if (payment.currency !== body.currency) found.push(`currency ${payment.currency} vs ${body.currency}`);
  if (payment.reference !== body.reference) found.push(`reference ${JSON.stringify(payment.reference)} vs ${JSON.stringify(body.reference)}`);
  return found;
}

/** The request is the one its key names, or it is refused before anything starts. */
export function assertSameRequest(payment: Payment, body: PaymentRequestBody): void {
  const found = differences(payment, body);
  if (found.length === 0) return;
  throw new EdgepayError(
    'EDGEPAY_IDEMPOTENCY_CONFLICT',
    `idempotencyKey ${JSON.stringify(payment.id)} is already the key of another payment (${payment.status}); this request differs in ${found.join(', ')}. Use a new key for a new payment`,
    { idempotencyKey: payment.id, differences: found },
  );
}

export function keyTaken(idempotencyKey: string, what: string, wanted: string): EdgepayError {
  return new EdgepayError('EDGEPAY_IDEMPOTENCY_CONFLICT', `idempotencyKey ${JSON.stringify(idempotencyKey)} is already the key of ${what}; a ${wanted} needs a key of its own`, { idempotencyKey, usedFor: what });
}

/**
 * A request whose key an earlier request holds while it is being started (its reader asked, its
 * claim not made yet): the same request waits for the earlier one's answer; any other is refused.
 */
export function assertSameAsStarting(starting: PaymentRequestBody, body: PaymentRequestBody): void {
  const found = differences(starting, body);
  if (found.length === 0) return;
  throw new EdgepayError(
    'EDGEPAY_IDEMPOTENCY_CONFLICT',
    `idempotencyKey ${JSON.stringify(body.idempotencyKey)} is already the key of a payment being started at lane ${starting.lane}; this request differs in ${found.join(', ')}. Use a new key for a new payment`,
    { idempotencyKey: body.idempotencyKey, differences: found },
  );
}
