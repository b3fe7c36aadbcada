export interface RepairRange {
  readonly fromSeq: number;
  readonly toSeq: number;
}

export interface RepairLimits {
  /** Most entries asked for at once: one answer's size, and the burst one request can cause. */
  readonly maxRangeEntries: number;
  /** How long an unanswered request is waited for before it is sent again. */
  readonly retryAfterMs: number;
  /**
   * How long a replica may trail its origin's advertised head without progress before repair is
   * asked for. Status and entries travel on different topics, so a status can overtake the entries
   * it announces; asking at once would fetch what is already on its way.
   */
  readonly lagGraceMs: number;
}

export const DEFAULT_REPAIR_LIMITS: RepairLimits = { maxRangeEntries: 256, retryAfterMs: 1_000, lagGraceMs: 500 };

interface OriginState {
  request: (RepairRange & { sentAtMs: number }) | undefined;
  progressHead: number;
  progressAtMs: number;
}

/**
 * Decides when to ask for a range of an origin's entries: at most one request per origin in
 * flight, re-sent after a timeout, the next chunk as soon as the previous one landed. Pure (time
 * comes in as an argument), so a simulation drives it through any schedule of losses.
 */
export class RepairPlanner {
  private readonly origins = new Map<string, OriginState>();

  constructor(private readonly limits: RepairLimits = DEFAULT_REPAIR_LIMITS) {}

  /**
   * The range to request now, or undefined. `urgent` is for a known gap (entries are held beyond
   * it), which is asked for at once; a lag behind an advertised head waits lagGraceMs first.
   */
  plan(origin: string, headSeq: number, targetSeq: number, nowMs: number, urgent: boolean): RepairRange | undefined {
    if (targetSeq <= headSeq) {
      this.origins.delete(origin);
      return undefined;
    }
    let state = this.origins.get(origin);
    if (state === undefined) {
      state = { request: undefined, progressHead: headSeq, progressAtMs: nowMs };
      this.origins.set(origin, state);
    } else if (headSeq !== state.progressHead) {
      state.progressHead = headSeq;
      state.progressAtMs = nowMs;
    }
    if (!urgent && nowMs - state.progressAtMs < this.limits.lagGraceMs) return undefined;
    const outstanding = state.request;
    if (outstanding !== undefined && headSeq < outstanding.toSeq && nowMs - outstanding.sentAtMs < this.limits.retryAfterMs) return undefined;
    const range = { fromSeq: headSeq + 1, toSeq: Math.min(targetSeq, headSeq + this.limits.maxRangeEntries) };
    state.request = { ...range, sentAtMs: nowMs };
    return range;
  }

  /** Origins with a request outstanding or a lag being watched. */
  get tracked(): number {
    return this.origins.size;
  }
}
