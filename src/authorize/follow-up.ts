import { EdgepayError } from '../errors.js';
import { isAmountMinor } from '../money/index.js';
import { offlineDecision, type Decision } from './codes.js';
import { formatAmount } from './format.js';

export type FollowUpKind = 'void' | 'refund' | 'capture';

/** The transaction a follow-up refers to, as the journal recorded it. */
export interface FollowUpOriginal {
  readonly kind: string;
  readonly approved: boolean;
  readonly amountMinor: number;
  readonly currency: string;
}

/** What earlier approved follow-ups already did to that original. */
export interface FollowUpPrior {
  readonly voided: boolean;
  readonly refundedMinor: number;
  readonly capturedMinor: number;
}

/** Which original kinds each follow-up may refer to: a refund may return money from a capture too. */
const TARGET_KINDS: Readonly<Record<FollowUpKind, readonly string[]>> = {
  void: ['authorization'],
  refund: ['authorization', 'capture'],
  capture: ['authorization'],
};

/**
 * Decides a void, refund or capture against its original. Pure, like decideAuthorization. The
 * rules exist so money never moves twice: nothing follows a void, refunds and captures never add
 * up past the original, and a void (which returns everything) is refused once part of the money
 * was captured or refunded.
 */
export function decideFollowUp(kind: FollowUpKind, original: FollowUpOriginal | undefined, prior: FollowUpPrior, amountMinor: number, currency: string): Decision {
  if (!isAmountMinor(amountMinor)) {
    throw new EdgepayError('EDGEPAY_AMOUNT_INVALID', `${kind} amountMinor must be a whole number > 0 (minor units), got ${String(amountMinor)}`, {
      amountMinor,
    });
  }
  for (const field of ['refundedMinor', 'capturedMinor'] as const) {
    const value = prior[field];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new EdgepayError('EDGEPAY_AMOUNT_INVALID', `prior.${field} must be a whole number >= 0, got ${String(value)}`, { [field]: value });
    }
  }

  const refuse = (reason: string) => offlineDecision(false, '57', 'follow_up', `${kind} refused: ${reason}`);
  const tooMuch = (reason: string) => offlineDecision(false, '61', 'follow_up', `${kind} refused: ${reason}`);
  const targets = TARGET_KINDS[kind];

  if (original === undefined) return refuse('the original transaction is not in the journal');
  if (!targets.includes(original.kind)) return refuse(`it must refer to an ${targets.join(' or ')}, but the original is a ${original.kind}`);
  if (!original.approved) return refuse(`the original ${original.kind} was declined, so no money moved`);
  if (prior.voided) return refuse(`the original ${original.kind} is already voided`);
  if (currency !== original.currency) return refuse(`currency ${currency} differs from the original's ${original.currency}`);

  const fmt = (minor: number) => formatAmount(minor, currency);
  const originalMinor = original.amountMinor;
  switch (kind) {
    case 'void': {
      if (prior.capturedMinor > 0) return refuse(`${fmt(prior.capturedMinor)} of it is already captured; refund instead`);
      if (prior.refundedMinor > 0) return refuse(`${fmt(prior.refundedMinor)} of it is already refunded; refund the rest instead`);
      if (amountMinor > originalMinor) return tooMuch(`${fmt(amountMinor)} is more than the original ${fmt(originalMinor)}`);
      if (amountMinor < originalMinor) {
        return refuse(`a void must be for the full original ${fmt(originalMinor)}, not ${fmt(amountMinor)}; refund part instead`);
      }
      return offlineDecision(true, '00', 'follow_up', `void of ${fmt(amountMinor)} approved`);
    }
    case 'refund':
    case 'capture': {
      const done = kind === 'refund' ? prior.refundedMinor : prior.capturedMinor;
      const verb = kind === 'refund' ? 'refunded' : 'captured';
      // Compared as a subtraction so no sum of two large amounts can round past 2^53.
      if (amountMinor > originalMinor - done) {
        return tooMuch(`${fmt(done)} already ${verb} plus ${fmt(amountMinor)} would make ${fmt(done + amountMinor)}, more than the original ${fmt(originalMinor)}`);
      }
      const reason = `${kind} of ${fmt(amountMinor)} approved (${fmt(done + amountMinor)} of ${fmt(originalMinor)} ${verb})`;
      return offlineDecision(true, '00', 'follow_up', reason);
    }
  }
}
