import type { Outcome } from '../standin/index.js';

/** One decision as the status page and metrics see it: no card data beyond the last four digits. */
export interface RecentDecision {
  readonly atMs: number;
  readonly lane: string | null;
  readonly kind: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly approved: boolean;
  readonly code: string;
  /** Why, written for a person (the rule and the numbers that led to the decision); never card data. */
  readonly reason: string;
  readonly mode: string;
  readonly rule: string;
  readonly cardLast4: string | null;
  readonly replayed: boolean;
  /** From the request reaching the node to its durable decision (null when not measured). */
  readonly latencyMs: number | null;
}

const KEPT = 50;

/** The node's last decisions, newest first, and a hook for counting them. */
export class DecisionLog {
  private readonly recent: RecentDecision[] = [];
  private readonly listeners: ((decision: RecentDecision) => void)[] = [];

  onDecision(listener: (decision: RecentDecision) => void): void {
    this.listeners.push(listener);
  }

  record(outcome: Outcome, nowMs: number, latencyMs: number | null = null): void {
    const entry = outcome.entry;
    const decision: RecentDecision = {
      atMs: nowMs,
      lane: entry?.lane ?? null,
      kind: entry?.kind ?? 'authorization',
      amountMinor: entry?.amountMinor ?? 0,
      currency: entry?.currency ?? '',
      approved: outcome.decision.approved,
      code: outcome.decision.code,
      reason: outcome.decision.reason,
      mode: outcome.decision.mode,
      rule: outcome.decision.rule,
      cardLast4: entry?.cardLast4 ?? null,
      replayed: outcome.replayed,
      latencyMs,
    };
    this.recent.unshift(decision);
    if (this.recent.length > KEPT) this.recent.length = KEPT;
    for (const listener of this.listeners) listener(decision);
  }

  latest(limit = KEPT): readonly RecentDecision[] {
    return this.recent.slice(0, limit);
  }
}
