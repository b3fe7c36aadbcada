import { EdgepayError } from '../errors.js';
import type { Rules } from '../rules/rules.js';

/**
 * Why a peer's approval is left out of a card's shared exposure. Both name something an honest
 * node cannot produce, so each one is also an alert (DOMAIN.md, "Security model": what a
 * compromised box can do is bounded by the rules and visible).
 */
export const PEER_IGNORE_REASONS = ['future', 'over_limit'] as const;
export type PeerIgnoreReason = (typeof PEER_IGNORE_REASONS)[number];
export type PeerIgnoredCounts = Readonly<Record<PeerIgnoreReason, number>>;

/**
 * How far ahead of this node's clock a peer's approval may be dated and still count. The boxes of
 * a store keep NTP time, seconds apart; the simulation (src/sim/fault-injector.ts) steps the wall
 * clock by up to ten minutes either way, and one step back makes every approval stamped before it
 * look up to ten minutes ahead. Fifteen minutes keeps such honest approvals plausible, with room
 * for ordinary skew and replication delay, while a date years ahead (which would hold a card's
 * limit for as long) never counts.
 */
export const DEFAULT_PEER_CLOCK_TOLERANCE_MS = 15 * 60_000;

export type PerCardLimits = Rules['perCard'];

/** What the rule needs of one peer approval; callers keep their own fields on it. */
export interface PeerApprovalFacts {
  readonly origin: string;
  readonly currency: string;
  readonly amountMinor: number;
  readonly wallMs: number;
}

/** The span a card's shared exposure covers, both ends inclusive. */
export interface PeerWindow {
  readonly sinceWallMs: number;
  /** This node's now plus the clock tolerance: anything later is dated in the future. */
  readonly untilWallMs: number;
}

export interface PeerJudgement<T> {
  /** Inside the window and plausible: these count toward the card's exposure. */
  readonly counted: T[];
  /** Implausible, with the reason; entries merely older than the window are in neither list. */
  readonly ignored: { readonly approval: T; readonly reason: PeerIgnoreReason }[];
}

const MS_PER_MINUTE = 60_000;

/** The window a decision at nowWallMs sees under `perCard`, its upper end moved out by the tolerance. */
export function peerWindowAt(perCard: Pick<PerCardLimits, 'windowMinutes'>, nowWallMs: number, toleranceMs: number): PeerWindow {
  return { sinceWallMs: nowWallMs - perCard.windowMinutes * MS_PER_MINUTE, untilWallMs: nowWallMs + toleranceMs };
}

export function isDatedBeyond(wallMs: number, nowWallMs: number, toleranceMs: number): boolean {
  return wallMs > nowWallMs + toleranceMs;
}

/** A tolerance is whole milliseconds >= 0; anything else is a configuration mistake, refused loudly. */
export function checkedTolerance(toleranceMs: number): number {
  if (!Number.isSafeInteger(toleranceMs) || toleranceMs < 0) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `the peer clock tolerance must be whole milliseconds >= 0, got ${String(toleranceMs)}`, {
      field: 'peerClockToleranceMs',
      value: toleranceMs,
    });
  }
  return toleranceMs;
}

/**
 * Splits one card's peer approvals into what counts toward its shared exposure and what is
 * implausible. Pure: the same approvals, window and limits always give the same answer.
 *
 * - Dated after window.untilWallMs: `future`. Counted, such an entry would hold the card's limit
 *   until its date arrives (years, for a forged one), from every box.
 * - One origin's approvals inside the window beyond the per-card limits (count, or amount in one
 *   currency): every one of that origin's approvals of the card is `over_limit`. An honest origin
 *   cannot get there, since its own decisions count its approvals against the same limits, so the
 *   whole set is a lie and no part of it is believed. Capping it at the limit instead would still
 *   let a lying box block the card for everyone. `limits` are the rules in force here: after the
 *   limits are lowered, approvals an origin took under the old ones can look over the new ones
 *   until they leave the window (an alert to read with the rules change in mind).
 *
 * A currency without a current amount limit is not accepted offline any more, so a decision in it
 * never reads the amount; such approvals are checked by count only. Without limits at all (null)
 * only the window applies.
 */
export function judgePeerApprovals<T extends PeerApprovalFacts>(approvals: Iterable<T>, window: PeerWindow, limits: PerCardLimits | null): PeerJudgement<T> {
  const ignored: { approval: T; reason: PeerIgnoreReason }[] = [];
  const byOrigin = new Map<string, T[]>();
  for (const approval of approvals) {
    if (approval.wallMs > window.untilWallMs) {
      ignored.push({ approval, reason: 'future' });
      continue;
    }
    if (approval.wallMs < window.sinceWallMs) continue;
    const list = byOrigin.get(approval.origin);
    if (list === undefined) byOrigin.set(approval.origin, [approval]);
    else list.push(approval);
  }
  const counted: T[] = [];
  for (const list of byOrigin.values()) {
    if (limits !== null && exceedsLimits(list, limits)) {
      for (const approval of list) ignored.push({ approval, reason: 'over_limit' });
    } else {
      counted.push(...list);
    }
  }
  return { counted, ignored };
}

function exceedsLimits(approvals: readonly PeerApprovalFacts[], limits: PerCardLimits): boolean {
  if (approvals.length > limits.maxCount) return true;
  const amounts = new Map<string, number>();
  for (const { currency, amountMinor } of approvals) {
    const limit = limits.maxAmountMinor[currency];
    if (limit === undefined) continue;
    const total = (amounts.get(currency) ?? 0) + amountMinor;
    // Compared before it can grow further: a lying origin could send sums past 2^53.
    if (total > limit) return true;
    amounts.set(currency, total);
  }
  return false;
}
