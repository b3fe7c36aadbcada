import { LatencyRecorder, type LatencySummary } from './latency.js';
import type { BenchFleet } from './replication-fleet.js';
import { type WriteResult, combineWrites } from './replication-load.js';
import type { PhaseIntake } from './replication-tracker.js';

export interface QuorumReport {
  /** How the wait was called: the node adds one actor round trip (journal writer → replicator) on top. */
  readonly path: string;
  readonly timeoutMs: number;
  readonly ratePerNodePerSec: number;
  readonly seconds: number;
  readonly decisions: number;
  readonly reached: number;
  /** Answered local-only at the timeout (or with no reachable peer). */
  readonly localOnly: number;
  /** Commit → quorum result: what a decision waits on top of its own fsync. */
  readonly addedLatency: LatencySummary;
  readonly writes: WriteResult;
  /** Commit → stored at a peer during this phase (awaitQuorum also wakes the outbox at once). */
  readonly intake: PhaseIntake;
}

/** The node configuration's default quorum.timeoutMs. */
export const QUORUM_TIMEOUT_MS = 200;

/**
 * Quorum acknowledgement's cost to a decision: the same steady load as the lag phase, each entry
 * followed by Replicator.awaitQuorum as the node's journal writer does when quorum is enabled.
 */
export async function measureQuorum(fleet: BenchFleet, ratePerSec: number, seconds: number, drained: () => Promise<PhaseIntake>): Promise<QuorumReport> {
  const boxes = await fleet.paced(ratePerSec, seconds, 'quorum', QUORUM_TIMEOUT_MS);
  const added = new LatencyRecorder();
  for (const box of boxes) for (const ms of box.quorumMs) added.add(ms);
  const reached = boxes.reduce((sum, b) => sum + b.reached, 0);
  const localOnly = boxes.reduce((sum, b) => sum + b.localOnly, 0);
  const intake = await drained();
  return {
    path: "Replicator.awaitQuorum in the node's own thread, right after the authorize promise resolved",
    timeoutMs: QUORUM_TIMEOUT_MS,
    ratePerNodePerSec: ratePerSec,
    seconds,
    decisions: reached + localOnly,
    reached,
    localOnly,
    addedLatency: added.summary(),
    writes: combineWrites(boxes),
    intake,
  };
}
