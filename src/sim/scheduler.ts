import { ManualClock } from '../platform/clock.js';
import type { Timers } from '../platform/timers.js';

interface Scheduled {
  readonly atMs: number;
  readonly order: number;
  readonly run: () => void | Promise<void>;
  cancelled: boolean;
}

/** A scheduled event, to cancel it. */
export type SimTimer = Readonly<Pick<Scheduled, 'atMs'>>;

/** Real event-loop turns after each event: enough for a group commit and the continuations it wakes. */
const SETTLE_TURNS = 4;

/**
 * Simulated time for a whole store in one process: events run one at a time in (time, insertion)
 * order, the clock jumps to each event's time, and after each one the real event loop is turned a
 * fixed number of times so the code's own setImmediate steps (group commit, the outbox pump) and
 * promise continuations finish before the next event. Nothing waits on real time, so a seed
 * replays exactly.
 */
export class SimScheduler {
  readonly clock: ManualClock;
  private queue: Scheduled[] = [];
  private order = 0;
  private nowMs: number;
  private interruptions: { readonly atMs: number; readonly turn: number; readonly run: () => void }[] = [];
  events = 0;

  constructor(startWallMs: number) {
    this.clock = new ManualClock(startWallMs);
    this.nowMs = startWallMs;
  }

  /** Simulated milliseconds since the epoch (the wall clock may have been jumped away from it). */
  get now(): number {
    return this.nowMs;
  }

  after(delayMs: number, run: () => void | Promise<void>): SimTimer {
    const entry: Scheduled = { atMs: this.nowMs + Math.max(0, delayMs), order: this.order++, run, cancelled: false };
    // Binary search for the insertion point keeps the queue sorted by (time, order).
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const other = this.queue[mid]!;
      if (other.atMs < entry.atMs || (other.atMs === entry.atMs && other.order < entry.order)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, entry);
    return entry;
  }

  /** A cancelled event is dropped unrun and uncounted, as a cleared timer never fires. */
  cancel(timer: SimTimer | undefined): void {
    if (timer !== undefined) (timer as Scheduled).cancelled = true;
  }

  /** The code's timers (Timers), on simulated time. */
  readonly timers: Timers = {
    setTimeout: (callback, delayMs) => this.after(delayMs, callback),
    clearTimeout: (timer) => this.cancel(timer as SimTimer | undefined),
  };

  /** Runs `run` every `periodMs` until `untilMs`. */
  every(periodMs: number, untilMs: number, run: () => void | Promise<void>): void {
    const tick = async (): Promise<void> => {
      await run();
      if (this.nowMs + periodMs <= untilMs) this.after(periodMs, tick);
    };
    this.after(periodMs, tick);
  }

  /**
   * Runs `run` inside the first event at or after `delayMs` from now, once `turn` (0 to
   * SETTLE_TURNS - 1) real event-loop turns of its continuations have passed: between any two
   * steps of whatever the code was doing then, not only between events.
   */
  interrupt(delayMs: number, turn: number, run: () => void): void {
    if (!Number.isInteger(turn) || turn < 0 || turn >= SETTLE_TURNS) throw new RangeError(`turn must be a whole number from 0 to ${SETTLE_TURNS - 1}, got ${turn}`);
    this.interruptions.push({ atMs: this.nowMs + Math.max(0, delayMs), turn, run });
  }

  /** How many real turns follow each event; interruptions pick one of them. */
  static readonly turnsPerEvent = SETTLE_TURNS;

  async runUntil(untilMs: number): Promise<void> {
    for (;;) {
      const next = this.queue[0];
      if (next === undefined || next.atMs > untilMs) break;
      this.queue.shift();
      if (next.cancelled) continue;
      this.advanceTo(next.atMs);
      this.events++;
      await next.run();
      for (let turn = 0; turn < SETTLE_TURNS; turn++) {
        this.runInterruptions(turn);
        await oneTurn();
      }
    }
    this.advanceTo(untilMs);
  }

  private runInterruptions(turn: number): void {
    const due = this.interruptions.filter((i) => i.atMs <= this.nowMs && i.turn === turn);
    if (due.length === 0) return;
    this.interruptions = this.interruptions.filter((i) => !due.includes(i));
    for (const interruption of due) interruption.run();
  }

  private advanceTo(ms: number): void {
    if (ms <= this.nowMs) return;
    this.clock.advance(ms - this.nowMs);
    this.nowMs = ms;
  }
}

function oneTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
