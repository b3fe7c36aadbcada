import type { VerifiedEntry } from '../../wire/envelope.js';

export type HoldResult = 'pending' | 'duplicate' | 'conflict' | 'pending_full';

export interface PendingLimits {
  /** Entries held per origin: the longest out-of-order run waited for before dropping. */
  readonly perOrigin: number;
  /** Entries held over all origins: the memory bound of the buffer. */
  readonly total: number;
}

export const DEFAULT_PENDING_LIMITS: PendingLimits = { perOrigin: 1_024, total: 8_192 };

/**
 * Verified entries that arrived ahead of their predecessors, held in memory until the gap is
 * filled. Memory only, on purpose: after a restart, repair brings them again, so there is nothing
 * to recover. Full means refuse, not evict: whatever is dropped is asked for again by repair.
 */
export class PendingBuffer {
  private readonly byOrigin = new Map<string, Map<number, VerifiedEntry>>();
  private count = 0;

  constructor(private readonly limits: PendingLimits = DEFAULT_PENDING_LIMITS) {}

  get size(): number {
    return this.count;
  }

  hold(entry: VerifiedEntry): HoldResult {
    const held = this.byOrigin.get(entry.nodeId);
    const same = held?.get(entry.seq);
    if (same !== undefined) return same.hash === entry.hash ? 'duplicate' : 'conflict';
    if (this.count >= this.limits.total || (held?.size ?? 0) >= this.limits.perOrigin) return 'pending_full';
    if (held === undefined) this.byOrigin.set(entry.nodeId, new Map([[entry.seq, entry]]));
    else held.set(entry.seq, entry);
    this.count++;
    return 'pending';
  }

  /** Removes and returns the entry at `seq`, if held. */
  take(origin: string, seq: number): VerifiedEntry | undefined {
    const held = this.byOrigin.get(origin);
    const entry = held?.get(seq);
    if (entry === undefined || held === undefined) return undefined;
    held.delete(seq);
    this.count--;
    if (held.size === 0) this.byOrigin.delete(origin);
    return entry;
  }

  /** Drops what the chain already covers (stored by another path meanwhile). */
  dropThrough(origin: string, seq: number): void {
    const held = this.byOrigin.get(origin);
    if (held === undefined) return;
    for (const key of [...held.keys()]) if (key <= seq) this.take(origin, key);
  }

  /** The lowest and highest held sequence of `origin`, or undefined when nothing is held. */
  span(origin: string): { readonly lowest: number; readonly highest: number } | undefined {
    const held = this.byOrigin.get(origin);
    if (held === undefined || held.size === 0) return undefined;
    let lowest = Number.POSITIVE_INFINITY;
    let highest = 0;
    for (const key of held.keys()) {
      if (key < lowest) lowest = key;
      if (key > highest) highest = key;
    }
    return { lowest, highest };
  }

  origins(): string[] {
    return [...this.byOrigin.keys()];
  }
}
