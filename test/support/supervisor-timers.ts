import type { SupervisorTimers } from '../../src/actors/supervisor-timers.js';

/** Lets every promise chain that is ready run to completion: one macrotask turn drains all microtasks. */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Pending {
  readonly atMs: number;
  readonly seq: number;
  readonly callback: () => void;
}

/**
 * Virtual time for supervisors: nothing fires until a test advances it, and every timer due on the
 * way fires in order, with the promise work it triggers settled before the next one.
 */
export class FakeTimers implements SupervisorTimers {
  private nowMs = 0;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  now(): number {
    return this.nowMs;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const seq = ++this.seq;
    this.pending.set(seq, { atMs: this.nowMs + Math.max(0, delayMs), seq, callback });
    return seq;
  }

  clearTimeout(timer: unknown): void {
    if (typeof timer === 'number') this.pending.delete(timer);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Moves time forward by ms, firing due timers in (time, creation) order. */
  async advance(ms: number): Promise<void> {
    const targetMs = this.nowMs + ms;
    await settle();
    for (;;) {
      const next = this.nextDue(targetMs);
      if (next === undefined) break;
      this.pending.delete(next.seq);
      this.nowMs = Math.max(this.nowMs, next.atMs);
      next.callback();
      await settle();
    }
    this.nowMs = targetMs;
    await settle();
  }

  /** Advances in steps until the promise settles; fails loudly instead of spinning forever. */
  async until<T>(promise: Promise<T>, limitMs = 600_000, stepMs = 50): Promise<T> {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    promise.then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
    await settle();
    for (let spentMs = 0; outcome === undefined; spentMs += stepMs) {
      if (spentMs > limitMs) throw new Error(`promise did not settle within ${limitMs} virtual ms`);
      await this.advance(stepMs);
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  private nextDue(targetMs: number): Pending | undefined {
    let best: Pending | undefined;
    for (const timer of this.pending.values()) {
      if (timer.atMs > targetMs) continue;
      if (best === undefined || timer.atMs < best.atMs || (timer.atMs === best.atMs && timer.seq < best.seq)) best = timer;
    }
    return best;
  }
}
