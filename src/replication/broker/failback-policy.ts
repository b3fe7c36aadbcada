/**
 * When a node on a standby broker goes back to the primary: only after the primary has answered
 * every probe for `holdMs` in a row. A primary that is restarting, or flapping, answers some probes
 * and refuses others; moving back at the first answer would move the whole store twice per flap
 * (each move costs each node a reconnect). Pure: the caller probes and says what it saw when.
 */
export class FailbackPolicy {
  /** Monotonic ms of the first probe of the current unbroken run of answers; undefined after a failure. */
  private answeringSince: number | undefined;

  constructor(private readonly holdMs: number) {}

  /** Records one probe; true when the primary has now answered for the whole hold time. */
  probed(answered: boolean, nowMs: number): boolean {
    if (!answered) {
      this.answeringSince = undefined;
      return false;
    }
    this.answeringSince ??= nowMs;
    return nowMs - this.answeringSince >= this.holdMs;
  }

  /** Forget the run: the node left the standby, or is about to. */
  reset(): void {
    this.answeringSince = undefined;
  }
}

/**
 * The broker to try after a connection to `current` closed or could not be made: the next one in
 * the configured order, wrapping round. A node on the primary that loses it goes straight to the
 * first standby instead of waiting out the primary's restart; one whose standby dies goes back.
 */
export function nextBrokerIndex(current: number, count: number): number {
  return count <= 1 ? 0 : (current + 1) % count;
}
