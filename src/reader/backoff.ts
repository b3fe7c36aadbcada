/**
 * Delays between attempts to reopen a reader that went away: quick at first, because a cable
 * reseated by hand is back within a second, then capped (see REOPEN_DELAY_MS).
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly firstMs = 50,
    private readonly maxMs = 2000,
  ) {}

  next(): number {
    const delay = Math.min(this.maxMs, this.firstMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}
