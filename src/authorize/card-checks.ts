import type { CardFacts } from '../card/card-facts.js';
import { type CurrencyCode, isCurrencyCode } from '../money/index.js';
import { offlineDecision, type Decision } from './codes.js';
import { expiryEndMs, formatExpiry } from './expiry.js';
import type { CurrencyRules, Rules } from '../rules/rules.js';

/** What the card checks read: the card and the currency, never the amount or any exposure. */
export interface CardCheckInput {
  readonly currency: string;
  readonly card: Pick<CardFacts, 'token' | 'expiryYear' | 'expiryMonth' | 'checkDigitValid'>;
}

/** A passed check hands on the currency as checked, so the limits that follow need no second lookup. */
export type CardCheck = { readonly passed: true; readonly currency: CurrencyCode; readonly currencyRules: CurrencyRules } | { readonly passed: false; readonly decision: Decision };

const MAX_DATE_MS = 8.64e15;

/**
 * The node's checks of the card itself: currency accepted, Luhn check digit, expiry, hot-card
 * list, in that order, the first failure deciding. They depend on no limit and no exposure, so they
 * hold whoever decides: the offline rules run them first, and an online decision is never sought
 * for, nor allowed to override, a card that fails one. Pure, like decideAuthorization.
 */
export function checkCard(req: CardCheckInput, rules: Pick<Rules, 'currencies' | 'hotCards'>, nowWallMs: number): CardCheck {
  // Beyond ±8.64e15 ms a Date is invalid, and the expiry reason could not print the time.
  if (!Number.isSafeInteger(nowWallMs) || Math.abs(nowWallMs) > MAX_DATE_MS) {
    throw new RangeError(`nowWallMs must be whole milliseconds since the epoch, got ${nowWallMs}`);
  }
  const { currency, card } = req;
  const currencyRules = rules.currencies[currency];
  if (currencyRules === undefined || !isCurrencyCode(currency)) {
    const accepted = Object.keys(rules.currencies).join(', ');
    return declined('57', 'currency', `currency ${JSON.stringify(currency)} is not accepted offline (accepted: ${accepted})`);
  }
  // Strictly true: a request that reached here without a boolean has not been checked, so it fails.
  if (card.checkDigitValid !== true) return declined('14', 'check_digit', 'card number fails its Luhn check digit');

  const expiry = formatExpiry(card.expiryYear, card.expiryMonth);
  const validUntilMs = expiryEndMs(card.expiryYear, card.expiryMonth);
  if (validUntilMs === null) return declined('54', 'expiry', `card expiry ${expiry} is not a valid year and month`);
  if (nowWallMs >= validUntilMs) {
    return declined('54', 'expiry', `card expired at the end of ${expiry} (UTC); now is ${new Date(nowWallMs).toISOString()}`);
  }
  if (rules.hotCards.tokens.has(card.token)) {
    return declined('05', 'hot_card', `card is on the hot-card list (version ${rules.hotCards.version})`);
  }
  return { passed: true, currency, currencyRules };
}

/** checkCard's decline, or null when the card passes every card check. */
export function cardDecline(req: CardCheckInput, rules: Pick<Rules, 'currencies' | 'hotCards'>, nowWallMs: number): Decision | null {
  const check = checkCard(req, rules, nowWallMs);
  return check.passed ? null : check.decision;
}

function declined(code: '57' | '14' | '54' | '05', rule: 'currency' | 'check_digit' | 'expiry' | 'hot_card', reason: string): CardCheck {
  return { passed: false, decision: offlineDecision(false, code, rule, reason) };
}
