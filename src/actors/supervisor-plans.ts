import type { SupervisorTimers } from './supervisor-timers.js';

/** Children waiting out one backoff delay, restarted together (in spec order) when it fires. */
export interface RestartPlan<M> {
  readonly members: ReadonlySet<M>;
  readonly dueAtMs: number;
  readonly delayMs: number;
}

/**
 * The pending restarts of one supervisor. Plans that share a child merge, so a child never waits on
 * two timers at once and can never be started twice by them; the merged plan keeps the later due time
 * so nobody's backoff is cut short.
 */
export class RestartPlans<M> {
  private readonly timersByPlan = new Map<RestartPlan<M>, unknown>();

  constructor(
    private readonly timers: SupervisorTimers,
    private readonly onDue: (plan: RestartPlan<M>) => void,
  ) {}

  schedule(members: Iterable<M>, delayMs: number): RestartPlan<M> {
    const nowMs = this.timers.now();
    const union = new Set(members);
    let dueAtMs = nowMs + delayMs;
    for (let merged = true; merged; ) {
      merged = false;
      for (const plan of this.timersByPlan.keys()) {
        if (![...plan.members].some((member) => union.has(member))) continue;
        this.cancel(plan);
        for (const member of plan.members) union.add(member);
        dueAtMs = Math.max(dueAtMs, plan.dueAtMs);
        merged = true;
      }
    }
    const plan: RestartPlan<M> = { members: union, dueAtMs, delayMs: dueAtMs - nowMs };
    this.timersByPlan.set(
      plan,
      this.timers.setTimeout(() => this.onDue(plan), plan.delayMs),
    );
    return plan;
  }

  /** True exactly once for a plan that is still pending; false once it was cancelled or merged away. */
  claim(plan: RestartPlan<M>): boolean {
    return this.timersByPlan.delete(plan);
  }

  cancelAll(): void {
    for (const plan of [...this.timersByPlan.keys()]) this.cancel(plan);
  }

  private cancel(plan: RestartPlan<M>): void {
    this.timers.clearTimeout(this.timersByPlan.get(plan));
    this.timersByPlan.delete(plan);
  }
}
