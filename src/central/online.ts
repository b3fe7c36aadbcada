import { expiryEndMs, formatExpiry } from '../authorize/expiry.js';
import { isCurrencyCode } from '../money/currency.js';
import type { CardStanding, OnlineRecord } from './plan.js';

/** What a node asks the centre while the link is up: enough to decide, nothing sensitive (the PAN stays sealed). */
export interface OnlineRequest {
  readonly origin: string;
  readonly store: string;
  readonly idempotencyKey: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly cardToken: string;
  readonly expiryYear: number;
  readonly expiryMonth: number;
  /**
   * Whether the PAN passed its Luhn check digit at capture. The node sends the result, not the PAN
   * (which leaves the box only sealed), so the centre can apply the same check the node does.
   */
  readonly checkDigitValid: boolean;
}

export interface OnlineDecision {
  readonly approved: boolean;
  /**
   * ISO 8583 response code: 00 approved, 14 invalid card number, 43 stolen card, 51 insufficient
   * funds, 54 expired card, 57 not permitted (a currency the centre does not know).
   */
  readonly code: string;
  readonly reason: string;
}

/**
 * The issuer side of an online authorization, as the centre sees it. Pure; the backend records the
 * answer so that a repeated request gets the same one. The card checks come first and in the
 * node's order (currency, check digit, expiry; then the card's standing where the node would look
 * at its hot list), so the centre never approves what the box itself would decline for the card.
 */
export function decideOnline(request: OnlineRequest, standing: CardStanding | undefined, nowMs: number): OnlineDecision {
  // The wire only says three capital letters; an amount in a currency the ledger cannot post is no sale.
  if (!isCurrencyCode(request.currency)) return { approved: false, code: '57', reason: `currency ${JSON.stringify(request.currency)} is not an ISO 4217 code the centre knows` };
  // Strictly true: only a node that ran the check and saw it pass may be approved.
  if (request.checkDigitValid !== true) return { approved: false, code: '14', reason: 'card number fails its Luhn check digit' };
  // Valid through the last day of the expiry month, UTC.
  const validUntilMs = expiryEndMs(request.expiryYear, request.expiryMonth);
  const expiry = formatExpiry(request.expiryYear, request.expiryMonth);
  if (validUntilMs === null) return { approved: false, code: '54', reason: `card expiry ${expiry} is not a valid year and month` };
  if (validUntilMs <= nowMs) return { approved: false, code: '54', reason: `card expired at the end of ${expiry}` };
  if (standing === 'hot_listed') return { approved: false, code: '43', reason: 'card reported stolen' };
  if (standing === 'insufficient_funds') return { approved: false, code: '51', reason: 'insufficient funds' };
  return { approved: true, code: '00', reason: 'approved by the centre' };
}

/** What became of an online authorization at the centre. */
export type OnlineStatus = 'approved' | 'declined' | 'reversed';

/** The answer to a request whose key the node had already reversed (it decided offline meanwhile). */
export const reversedDecision: OnlineDecision = { approved: false, code: '68', reason: 'reversed by the node before the centre answered (it decided offline)' };

/** The centre's record under a node's idempotency key, with the answer it gave. */
export interface RecordedAnswer extends OnlineRecord {
  readonly code: string;
  readonly reason: string;
}

/**
 * The answer to a request under a key the centre has answered before: the same answer for the same
 * payment, so a node that asks again after a crash hears what it heard. The same key for another
 * card, amount or currency (a box that lost its disk between the centre's answer and its journal
 * entry, then asked again with whatever card was presented) is declined: the approval on record was
 * for another payment, and the ledger would refuse to pay an approval it does not match.
 */
export function repeatedDecision(record: RecordedAnswer, request: OnlineRequest): OnlineDecision {
  if (record.status === 'reversed') return reversedDecision;
  const differ = [
    record.cardToken === request.cardToken ? undefined : 'card',
    record.amountMinor === request.amountMinor ? undefined : `amount (${record.amountMinor} on record, ${request.amountMinor} asked)`,
    record.currency === request.currency ? undefined : `currency (${record.currency} on record, ${request.currency} asked)`,
  ].filter((field) => field !== undefined);
  if (differ.length > 0) {
    return { approved: false, code: '57', reason: `idempotency key ${request.idempotencyKey} was answered for another payment (${differ.join(', ')} differ): one key, one payment` };
  }
  return { approved: record.status === 'approved', code: record.code, reason: record.reason };
}
