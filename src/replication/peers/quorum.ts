import { type Timers, systemTimers } from '../../platform/timers.js';

export interface QuorumResult {
  /** A majority of the reachable peers held the entry in time. */
  readonly reached: boolean;
  /** Reachable peers that held it when the wait ended. */
  readonly held: number;
  /** Peers that counted as reachable (online by their retained status). */
  readonly reachable: number;
  /** How many had to hold it: more than half of the reachable ones. */
  readonly needed: number;
  readonly waitedMs: number;
}

interface Waiter {
  readonly seq: number;
  readonly reachable: readonly string[];
  readonly needed: number;
  readonly startedMs: number;
  readonly resolve: (result: QuorumResult) => void;
  readonly timer: unknown;
}

/** Most waits outstanding at once; a burst beyond it is answered at once as local-only. */
const MAX_WAITERS = 8_192;

/**
 * Quorum acknowledgement of this node's own entries: peers announce, under their own ack topic and
 * signed with their own key, the highest contiguous sequence of this node they hold. Only acks
 * verified against the pinned key of the node they are recorded for reach recordAck (see
 * Subscriber.receiveAck), so one box cannot vote for another; the ACL on the topic is defence in
 * depth. A wait ends as soon as more than half of the reachable peers hold the entry, or at its
 * timeout, when the decision goes out local-only and the caller counts an alert.
 */
export class QuorumTracker {
  private readonly held = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly timers: Timers = systemTimers,
  ) {}

  /** `peer` signed that it holds this node's entries up to `seq` (acks only move forward). */
  recordAck(peer: string, seq: number): void {
    if (!Number.isSafeInteger(seq) || seq <= (this.held.get(peer) ?? 0)) return;
    this.held.set(peer, seq);
    for (const waiter of this.waiters) {
      if (this.count(waiter.seq, waiter.reachable) >= waiter.needed) this.finish(waiter, true);
    }
  }

  heldBy(peer: string): number {
    return this.held.get(peer) ?? 0;
  }

  wait(seq: number, reachable: readonly string[], timeoutMs: number): Promise<QuorumResult> {
    const needed = Math.floor(reachable.length / 2) + 1;
    const startedMs = this.now();
    const count = this.count(seq, reachable);
    // No reachable peer: there is nobody to wait for, and that is itself the alert.
    if (reachable.length === 0) return Promise.resolve({ reached: false, held: 0, reachable: 0, needed: 0, waitedMs: 0 });
    if (count >= needed) return Promise.resolve({ reached: true, held: count, reachable: reachable.length, needed, waitedMs: 0 });
    if (this.waiters.size >= MAX_WAITERS) return Promise.resolve({ reached: false, held: count, reachable: reachable.length, needed, waitedMs: 0 });
    return new Promise((resolve) => {
      const waiter: Waiter = { seq, reachable, needed, startedMs, resolve, timer: this.timers.setTimeout(() => this.finish(waiter, false), timeoutMs) };
      this.waiters.add(waiter);
    });
  }

  /** Ends every wait as local-only (the replicator is stopping). */
  close(): void {
    for (const waiter of [...this.waiters]) this.finish(waiter, false);
  }

  private count(seq: number, reachable: readonly string[]): number {
    return reachable.filter((peer) => (this.held.get(peer) ?? 0) >= seq).length;
  }

  private finish(waiter: Waiter, reached: boolean): void {
    if (!this.waiters.delete(waiter)) return;
    this.timers.clearTimeout(waiter.timer);
    waiter.resolve({
      reached,
      held: this.count(waiter.seq, waiter.reachable),
      reachable: waiter.reachable.length,
      needed: waiter.needed,
      waitedMs: this.now() - waiter.startedMs,
    });
  }
}
