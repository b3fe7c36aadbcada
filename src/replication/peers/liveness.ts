import { custodyOf } from './custody.js';

/**
 * When each peer was last heard from (a new entry, or a status or ack signed by it and dated no
 * later than this node's now: see Subscriber), and from that which silent peers this node holds in
 * custody. An "offline" last will alone is not silence past the deadline:
 * the node may be back in a minute and is the best one to forward its own journal.
 */
export class Liveness {
  private readonly lastSeenMs = new Map<string, number>();

  constructor(
    private readonly self: string,
    peers: readonly string[],
    startedMs: number,
  ) {
    // Peers never heard from since this node started count from its start, not from the epoch.
    for (const peer of peers) this.lastSeenMs.set(peer, startedMs);
  }

  heard(peer: string, atMs: number): void {
    if (peer === this.self || !this.lastSeenMs.has(peer)) return;
    if (atMs > (this.lastSeenMs.get(peer) ?? 0)) this.lastSeenMs.set(peer, atMs);
  }

  lastSeen(peer: string): number | undefined {
    return this.lastSeenMs.get(peer);
  }

  /** The silent peers whose journals this node forwards on their behalf now. */
  custody(nowMs: number, silentAfterMs: number): string[] {
    return custodyOf(this.self, { lastSeenMs: this.lastSeenMs }, nowMs, silentAfterMs);
  }
}
