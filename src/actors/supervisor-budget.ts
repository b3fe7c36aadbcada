/**
 * OTP's restart intensity: at most `intensity` restarts within any `periodMs`. The restart that would
 * be one too many is refused, and the supervisor gives up instead of looping on a broken child.
 */
export class RestartBudget {
  /** Oldest first; never longer than intensity + 1, because the refused restart ends the supervisor. */
  private readonly restartTimesMs: number[] = [];

  constructor(
    readonly intensity: number,
    readonly periodMs: number,
  ) {}

  /** Records a restart at nowMs; false when it exceeds the budget. */
  admit(nowMs: number): boolean {
    const lastMs = this.restartTimesMs.at(-1);
    // The clock is monotonic; clamping keeps the window sorted even if an injected one is not.
    const atMs = lastMs === undefined ? nowMs : Math.max(lastMs, nowMs);
    while (this.restartTimesMs.length > 0 && atMs - (this.restartTimesMs[0] ?? atMs) >= this.periodMs) {
      this.restartTimesMs.shift();
    }
    this.restartTimesMs.push(atMs);
    return this.restartTimesMs.length <= this.intensity;
  }
}
