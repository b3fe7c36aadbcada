import { LatencyRecorder, type LatencySummary, ratePerSecond } from './latency.js';

export interface PeerIntake {
  readonly node: string;
  /** Peers' entries this node stored during the phase. */
  readonly received: number;
  /** received over the time from the phase's start to this node's last store. */
  readonly entriesPerSec: number;
  readonly lag: LatencySummary;
}

export interface PhaseIntake {
  readonly peers: readonly PeerIntake[];
  /** Every peer's stores together. */
  readonly lag: LatencySummary;
  /** Stores of entries whose commit was not seen: none are expected (they would be missing from lag). */
  readonly unmatched: number;
}

interface Commit {
  readonly at: number;
  /** Peers that have not stored it yet: the entry is forgotten once every peer has. */
  remaining: number;
}

/**
 * Commit → stored-at-a-peer, on the epoch-based monotonic clock every thread of the process shares:
 * the origin's commit time is taken when its authorize promise resolves (after the fsync), the
 * store time in the replicator's onPeerEntries hook (after the replica's commit).
 */
export class LagTracker {
  private readonly commits = new Map<string, Commit>();
  private phase: PhaseState;

  constructor(
    private readonly nodes: readonly string[],
    now: number,
  ) {
    this.phase = new PhaseState(nodes, now);
  }

  /** Starts attributing stores to a new phase; the previous one should have drained first. */
  begin(now: number): void {
    this.phase = new PhaseState(this.nodes, now);
  }

  committed(origin: string, seq: number, at: number): void {
    this.commits.set(key(origin, seq), { at, remaining: this.nodes.length - 1 });
  }

  stored(holder: string, origin: string, seq: number, at: number): void {
    const id = key(origin, seq);
    const commit = this.commits.get(id);
    if (commit === undefined) {
      this.phase.unmatched++;
      return;
    }
    if (--commit.remaining <= 0) this.commits.delete(id);
    this.phase.add(holder, at - commit.at, at);
  }

  intake(): PhaseIntake {
    return this.phase.intake();
  }
}

class PhaseState {
  unmatched = 0;
  private readonly all = new LatencyRecorder();
  private readonly perPeer = new Map<string, { lag: LatencyRecorder; lastAt: number }>();

  constructor(
    nodes: readonly string[],
    private readonly startedAt: number,
  ) {
    for (const node of nodes) this.perPeer.set(node, { lag: new LatencyRecorder(), lastAt: startedAt });
  }

  add(holder: string, lagMs: number, at: number): void {
    const peer = this.perPeer.get(holder);
    if (peer === undefined) return;
    peer.lag.add(lagMs);
    peer.lastAt = Math.max(peer.lastAt, at);
    this.all.add(lagMs);
  }

  intake(): PhaseIntake {
    const peers = [...this.perPeer].map(([node, { lag, lastAt }]) => ({
      node,
      received: lag.count,
      entriesPerSec: ratePerSecond(lag.count, lastAt - this.startedAt),
      lag: lag.summary(),
    }));
    return { peers, lag: this.all.summary(), unmatched: this.unmatched };
  }
}

function key(origin: string, seq: number): string {
  return `${origin}#${seq}`;
}
