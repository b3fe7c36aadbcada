import type { CardFacts } from '../card/card-facts.js';
import { EdgepayError } from '../errors.js';
import { formatMinor, isAmountMinor } from '../money/index.js';
import { checkCard } from './card-checks.js';
import { offlineDecision, type Decision } from './codes.js';
import type { ExposureView } from './exposure-view.js';
import { formatDurationMs } from './format.js';
import type { Rules } from '../rules/rules.js';

export interface AuthorizationInput {
  readonly amountMinor: number;
  readonly currency: string;
  readonly card: Pick<CardFacts, 'token' | 'expiryYear' | 'expiryMonth' | 'checkDigitValid'>;
}

const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 3_600_000;

/**
 * Stand-in decision for one authorization. Pure: the same request, exposure, rules and time always
 * give the same decision, which is what lets a journal replay or a simulation reproduce it.
 * Rules run in a fixed order and the first that fails decides, so a card that is both expired and
 * over its limit is always reported as expired.
 *
 * The per-card window is inclusive at both ends: an approval made exactly windowMinutes before now
 * still counts. Approvals stamped after now (the wall clock jumped back) count too, so a clock step
 * can never hand a card a fresh window.
 */
export function decideAuthorization(req: AuthorizationInput, exposure: ExposureView, rules: Rules, nowWallMs: number): Decision {
  const { amountMinor, currency, card } = req;
  if (!isAmountMinor(amountMinor)) {
    throw new EdgepayError('EDGEPAY_AMOUNT_INVALID', `amountMinor must be a whole number > 0 (minor units), got ${String(amountMinor)}`, {
      amountMinor,
    });
  }
  // Currency, check digit, expiry and hot list first: they hold for online decisions too (card-checks.ts).
  const check = checkCard(req, rules, nowWallMs);
  if (!check.passed) return check.decision;
  const fmt = (minor: number) => formatMinor(minor, check.currency);

  const floorLimitMinor = check.currencyRules.floorLimitMinor;
  if (amountMinor > floorLimitMinor) {
    const reason = `${fmt(amountMinor)} is above the offline floor limit of ${fmt(floorLimitMinor)}; it must be authorized online`;
    return offlineDecision(false, 'Z3', 'floor_limit', reason);
  }

  // A node that cannot forward must stop taking risk before its backlog outlives what the centre accepts.
  const { forwardDeadlineHours } = rules.node;
  const oldestWallMs = exposure.oldestUnforwardedWallMs();
  if (oldestWallMs !== null && nowWallMs - oldestWallMs > forwardDeadlineHours * MS_PER_HOUR) {
    const reason = `the oldest unforwarded offline payment is ${formatDurationMs(nowWallMs - oldestWallMs)} old, past the ${forwardDeadlineHours}h forward deadline; offline approvals resume once the backlog is forwarded`;
    return offlineDecision(false, 'Z3', 'forward_deadline', reason);
  }

  const { windowMinutes, maxCount } = rules.perCard;
  const cardMaxMinor = limitFor(rules.perCard.maxAmountMinor, currency, 'perCard.maxAmountMinor');
  const cardUsed = exposure.cardWindow(card.token, currency, nowWallMs - windowMinutes * MS_PER_MINUTE);
  if (cardUsed.count + 1 > maxCount) {
    const reason = `card already has ${cardUsed.count} offline approval(s) in the last ${windowMinutes} min; the limit is ${maxCount}`;
    return offlineDecision(false, '65', 'card_count', reason);
  }
  // Compared as a subtraction so no sum of two large amounts can round past 2^53.
  if (amountMinor > cardMaxMinor - cardUsed.amountMinor) {
    const reason =
      `card has spent ${fmt(cardUsed.amountMinor)} offline in the last ${windowMinutes} min; ` +
      `another ${fmt(amountMinor)} would make ${fmt(cardUsed.amountMinor + amountMinor)}, ` +
      `above the limit of ${fmt(cardMaxMinor)}`;
    return offlineDecision(false, '61', 'card_amount', reason);
  }

  const { maxStoredCount } = rules.node;
  const nodeMaxMinor = limitFor(rules.node.maxStoredAmountMinor, currency, 'node.maxStoredAmountMinor');
  const nodeUsed = exposure.nodeStored(currency);
  if (nodeUsed.count + 1 > maxStoredCount) {
    const reason = `node already holds ${nodeUsed.count} unforwarded offline approval(s); the limit is ${maxStoredCount}`;
    return offlineDecision(false, 'Z3', 'node_count', reason);
  }
  if (amountMinor > nodeMaxMinor - nodeUsed.amountMinor) {
    const reason = `node already holds ${fmt(nodeUsed.amountMinor)} unforwarded; another ${fmt(amountMinor)} ` + `would make ${fmt(nodeUsed.amountMinor + amountMinor)}, above the limit of ${fmt(nodeMaxMinor)}`;
    return offlineDecision(false, 'Z3', 'node_amount', reason);
  }

  const reason =
    `approved offline: ${fmt(amountMinor)} within floor limit ${fmt(floorLimitMinor)}; ` +
    `card ${cardUsed.count + 1}/${maxCount} approvals and ${fmt(cardUsed.amountMinor + amountMinor)} of ${fmt(cardMaxMinor)} ` +
    `in ${windowMinutes} min; ` +
    `node ${nodeUsed.count + 1}/${maxStoredCount} stored`;
  return offlineDecision(true, 'Y3', 'approved', reason);
}

function limitFor(limits: Readonly<Record<string, number>>, currency: string, path: string): number {
  const limit = limits[currency];
  // parseRules guarantees every accepted currency has each limit; a hand-built Rules may not.
  if (limit === undefined) {
    throw new EdgepayError('EDGEPAY_RULES_INVALID', `${path}.${currency} is missing from the offline rules`, { path, currency });
  }
  return limit;
}
