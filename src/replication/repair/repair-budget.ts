/**
 * How many answer bytes one requester may draw from this node: a token bucket per requester,
 * refilled at `bytesPerSecond` up to `burstBytes`. Every holder answers every request, so a node
 * that asks too often (a bug, or a box in an intruder's hands) would otherwise turn small requests
 * into the whole store's journals on the broker, again and again.
 */
export interface RepairBudget {
  readonly bytesPerSecond: number;
  readonly burstBytes: number;
}

/**
 * A full answer is at most maxRepairEntries (256) entries of about 1.2 KiB: some 300 KiB. A replica
 * catching up asks for each origin it trails at once, so the burst holds a full answer for about a
 * dozen origins, more than a store has boxes. The rate lets a peer refill a replica, or rebuild a
 * replaced box, at some 1,700 entries a second from each holder (a busy lane's day in seconds),
 * while bounding what any one requester costs the broker to 2 MiB/s per answering peer.
 */
export const DEFAULT_REPAIR_BUDGET: RepairBudget = { bytesPerSecond: 2 * 1024 * 1024, burstBytes: 4 * 1024 * 1024 };

interface Bucket {
  tokens: number;
  atMs: number;
}

/** Pure: time comes in as an argument (monotonic ms), so a simulation drives it deterministically. */
export class RepairBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly budget: RepairBudget = DEFAULT_REPAIR_BUDGET) {
    if (!(budget.bytesPerSecond > 0) || !(budget.burstBytes > 0)) throw new RangeError(`a repair budget needs positive bytesPerSecond and burstBytes, got ${JSON.stringify(budget)}`);
  }

  /** Spends `bytes` of the requester's budget if it has them all; nothing otherwise. */
  take(requester: string, bytes: number, nowMs: number): boolean {
    const bucket = this.refilled(requester, nowMs);
    if (bytes > bucket.tokens) return false;
    bucket.tokens -= bytes;
    return true;
  }

  /** What the requester could draw now (for tests and status). */
  available(requester: string, nowMs: number): number {
    return this.refilled(requester, nowMs).tokens;
  }

  private refilled(requester: string, nowMs: number): Bucket {
    let bucket = this.buckets.get(requester);
    if (bucket === undefined) {
      // Requesters are known peers only (checked before), so this map is bounded by the key ring.
      bucket = { tokens: this.budget.burstBytes, atMs: nowMs };
      this.buckets.set(requester, bucket);
    }
    const elapsed = Math.max(0, nowMs - bucket.atMs);
    bucket.tokens = Math.min(this.budget.burstBytes, bucket.tokens + (elapsed * this.budget.bytesPerSecond) / 1_000);
    bucket.atMs = Math.max(bucket.atMs, nowMs);
    return bucket;
  }
}
