import { GENESIS_HASH } from '../journal/entry.js';
import type { RejectReason } from '../wire/counters.js';
import { type VerifiedEntry, openMessage } from '../wire/envelope.js';
import type { KeyRing } from '../wire/keys.js';

export type OfferOutcome = 'stored' | 'duplicate' | 'foreign' | 'rejected';

export interface CollectorTally {
  /** Messages offered (an entry or a run), valid or not. */
  readonly received: number;
  /** Distinct verified entries of the origin (the first copy of each). */
  readonly verified: number;
  /** Further copies of entries already held, counted per entry: every holder answers every request. */
  readonly duplicates: number;
  /** Verified messages of other origins: answers to someone's older request, ignored. */
  readonly foreign: number;
  readonly rejected: Readonly<Partial<Record<RejectReason, number>>>;
}

/** Where the collected chain starts from: the genesis, or the head of a journal restored from a backup. */
export interface ChainBase {
  readonly seq: number;
  readonly hash: string;
}

export const GENESIS_BASE: ChainBase = { seq: 0, hash: GENESIS_HASH };

/** Distinct validly signed entries at one sequence number: the origin's key signed two chains. */
export interface ForkReport {
  readonly seq: number;
  readonly hashes: readonly string[];
}

/**
 * Gathers one origin's entries from repair answers, whoever sends them. Each answer is opened
 * with the fleet's keys (every hash recomputed, every link checked, the signature of its last
 * entry verified), so a forged or altered answer is counted and dropped before it can touch the chain; the chain grows only by the next sequence
 * number linking to the current head, from entry 1. Two different entries signed for one
 * sequence number are never resolved by arrival order: the chain stops before them. Given a
 * base (a restored journal's head), the chain grows from the entry after it, which must link to it.
 */
export class RebuildCollector {
  private readonly chain: VerifiedEntry[] = [];
  private readonly waiting = new Map<number, VerifiedEntry>();
  private readonly hashesAt = new Map<number, Set<string>>();
  private readonly forks = new Set<number>();
  private readonly rejected: Partial<Record<RejectReason, number>> = {};
  private counts = { received: 0, verified: 0, duplicates: 0, foreign: 0 };
  private highest = 0;

  constructor(
    readonly origin: string,
    private readonly keys: KeyRing,
    readonly base: ChainBase = GENESIS_BASE,
  ) {}

  /** One repair answer: an entry or a run; 'stored' if it brought at least one entry not seen before. */
  offer(payload: Uint8Array): OfferOutcome {
    this.counts.received++;
    const opened = openMessage(payload, this.keys);
    if (!opened.ok) {
      this.rejected[opened.reason] = (this.rejected[opened.reason] ?? 0) + 1;
      return 'rejected';
    }
    if (opened.origin !== this.origin) {
      this.counts.foreign++;
      return 'foreign';
    }
    let outcome: OfferOutcome = 'duplicate';
    for (const entry of opened.entries) {
      const known = this.hashesAt.get(entry.seq) ?? new Set<string>();
      if (known.has(entry.hash)) {
        this.counts.duplicates++;
        continue;
      }
      outcome = 'stored';
      known.add(entry.hash);
      this.hashesAt.set(entry.seq, known);
      this.counts.verified++;
      this.highest = Math.max(this.highest, entry.seq);
      if (known.size > 1) this.forks.add(entry.seq);
      else if (entry.seq > this.headSeq) this.waiting.set(entry.seq, entry);
    }
    this.extend();
    return outcome;
  }

  /** The last entry of the contiguous, linked chain from the base (the base while the entry after it is missing). */
  get headSeq(): number {
    return this.base.seq + this.chain.length;
  }

  get headHash(): string {
    return this.chain.at(-1)?.hash ?? this.base.hash;
  }

  /** The highest sequence number any verified answer carried, linked or not. */
  get highestSeq(): number {
    return this.highest;
  }

  /** The verified chain after the base, up to the first gap, broken link or fork. */
  entries(): readonly VerifiedEntry[] {
    const fork = this.firstFork();
    return fork === undefined || fork.seq > this.headSeq ? this.chain : this.chain.slice(0, Math.max(0, fork.seq - 1 - this.base.seq));
  }

  /** The first sequence number with two validly signed entries, if any. */
  firstFork(): ForkReport | undefined {
    if (this.forks.size === 0) return undefined;
    const seq = Math.min(...this.forks);
    return { seq, hashes: [...(this.hashesAt.get(seq) ?? [])] };
  }

  tally(): CollectorTally {
    return { ...this.counts, rejected: { ...this.rejected } };
  }

  private extend(): void {
    for (;;) {
      const seq = this.headSeq + 1;
      const next = this.waiting.get(seq);
      if (next === undefined || this.forks.has(seq)) return;
      if (next.prevHash !== this.headHash) {
        // Signed by the origin yet not linking to its predecessor: the origin's key signed a fork.
        this.forks.add(seq);
        return;
      }
      this.waiting.delete(seq);
      this.chain.push(next);
    }
  }
}
