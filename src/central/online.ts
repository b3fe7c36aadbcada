import type { CardStanding } from './plan.js';

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
}

export interface OnlineDecision {
  readonly approved: boolean;
  /** ISO 8583 response code: 00 approved, 43 stolen card, 51 insufficient funds, 54 expired card. */
  readonly code: string;
  readonly reason: string;
}

/**
 * The issuer side of an online authorization, as the centre sees it: the card's standing and its
 * expiry. Pure; the backend records the answer so that a repeated request gets the same one.
 */
export function decideOnline(request: OnlineRequest, standing: CardStanding | undefined, nowMs: number): OnlineDecision {
  // Valid through the last day of the expiry month, UTC.
  if (Date.UTC(request.expiryYear, request.expiryMonth, 1) <= nowMs) {
    return { approved: false, code: '54', reason: `card expired at the end of ${request.expiryYear}-${String(request.expiryMonth).padStart(2, '0')}` };
  }
  if (standing === 'hot_listed') return { approved: false, code: '43', reason: 'card reported stolen' };
  if (standing === 'insufficient_funds') return { approved: false, code: '51', reason: 'insufficient funds' };
  return { approved: true, code: '00', reason: 'approved by the centre' };
}

/** What became of an online authorization at the centre. */
export type OnlineStatus = 'approved' | 'declined' | 'reversed';

/** The answer to a request whose key the node had already reversed (it decided offline meanwhile). */
export const reversedDecision: OnlineDecision = { approved: false, code: '68', reason: 'reversed by the node before the centre answered (it decided offline)' };
