/**
 * Time is injected everywhere so a deterministic simulation can drive a whole fleet from a seed.
 * Wall-clock time is for humans and rolling risk windows; monotonic time is for measuring durations
 * and never goes backwards within one process.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, as the operating system believes it. */
  wallMs(): number;
  /** Nanoseconds from an arbitrary origin that never decreases within this process. */
  monotonicNs(): bigint;
}

/**
 * Monotonic milliseconds, for intervals and timeouts: the wall clock can be stepped (NTP, an
 * operator), and a timer measured on it could then wait for ten minutes or not at all.
 */
export function monotonicMs(clock: Clock): number {
  return Number(clock.monotonicNs() / 1_000_000n);
}

export const systemClock: Clock = {
  wallMs: () => Date.now(),
  monotonicNs: () => process.hrtime.bigint(),
};

/** A clock that moves only when told to: for tests, the demo's trading day and simulations. */
export class ManualClock implements Clock {
  private wall: number;
  private mono = 0n;

  constructor(startWallMs: number) {
    this.wall = startWallMs;
  }

  wallMs(): number {
    return this.wall;
  }

  monotonicNs(): bigint {
    return this.mono;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance needs a finite ms >= 0, got ${ms}`);
    this.wall += ms;
    this.mono += BigInt(Math.round(ms * 1_000_000));
  }

  /** Moves wall time only (a clock jump); monotonic time is unaffected, as on a real machine. */
  setWallMs(ms: number): void {
    this.wall = ms;
  }
}
