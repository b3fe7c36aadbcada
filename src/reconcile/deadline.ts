import { EdgepayError } from '../errors.js';

/**
 * A command's time budget (`reconcile status --timeout-s`): each step on the way to the centre
 * (the broker, the running node, the ledger) waits at most what is left of it, so the command
 * answers within the budget whatever is down, and says what it could not reach.
 */
export class Deadline {
  private readonly atMs: number;

  constructor(readonly totalMs: number) {
    this.atMs = Date.now() + totalMs;
  }

  /** Milliseconds left, at least 1 (a step given 0 would wait without end in some clients). */
  left(): number {
    return Math.max(1, this.atMs - Date.now());
  }

  /** At most `ms`, and never past the deadline. */
  atMost(ms: number): number {
    return Math.min(ms, this.left());
  }

  /** `work`, or a rejection naming `what` once the budget is spent (the work itself is left to finish or fail on its own). */
  race<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const spent = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `${what}: no answer within ${Math.round(this.totalMs / 100) / 10} s (--timeout-s)`, { what, timeoutMs: this.totalMs })), this.left());
    });
    return Promise.race([work, spent]).finally(() => clearTimeout(timer));
  }
}
