import { EdgepayError } from '../errors.js';
import type { JournalEntry } from '../journal/entry.js';

/** What must match for a retry to count as the same request. */
export interface Fingerprint {
  readonly kind: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly cardToken: string;
  readonly refSeq: number | null;
}

/**
 * A reused idempotency key with different content is never a second payment: it is an error that
 * names each field that differs, so the POS developer sees the bug at once.
 */
export function conflictWith(existing: JournalEntry, attempt: Fingerprint): EdgepayError | undefined {
  const differences: string[] = [];
  if (existing.kind !== attempt.kind) differences.push(`kind ${existing.kind} vs ${attempt.kind}`);
  if (existing.amountMinor !== attempt.amountMinor) differences.push(`amountMinor ${existing.amountMinor} vs ${attempt.amountMinor}`);
  if (existing.currency !== attempt.currency) differences.push(`currency ${existing.currency} vs ${attempt.currency}`);
  if (existing.cardToken !== attempt.cardToken) differences.push('card (a different card token)');
  if (existing.refSeq !== attempt.refSeq) differences.push(`original entry ${existing.refSeq} vs ${attempt.refSeq}`);
  if (differences.length === 0) return undefined;
  return new EdgepayError('EDGEPAY_IDEMPOTENCY_CONFLICT', `idempotency key ${JSON.stringify(existing.idempotencyKey)} was already used for entry ${existing.seq} with different content: ${differences.join(', ')}`, {
    idempotencyKey: existing.idempotencyKey,
    seq: existing.seq,
    differences,
  });
}
