import { Replicator } from '../replication/replicator.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import type { BenchFleet } from './replication-fleet.js';
import { type WriteResult, writePaced } from './replication-load.js';
import type { PhaseIntake } from './replication-tracker.js';

export type QuorumReport =
  | { readonly measured: false; readonly reason: string }
  | {
      readonly measured: true;
      /** How the wait was called: the node adds one actor round trip (authorizer → replicator) on top. */
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
    };

/** The node configuration's default quorum.timeoutMs. */
export const QUORUM_TIMEOUT_MS = 200;

/**
 * Quorum acknowledgement's cost to a decision: the same steady load as the lag phase, each entry
 * followed by Replicator.awaitQuorum as the node's authorizer does when quorum is enabled.
 */
export async function measureQuorum(fleet: BenchFleet, ratePerSec: number, seconds: number, drained: () => Promise<PhaseIntake>): Promise<QuorumReport> {
  // Quorum mode is young: a build without it reports so instead of failing the whole bench.
  if (typeof Replicator.prototype.awaitQuorum !== 'function') return { measured: false, reason: 'quorum mode not built' };
  const added = new LatencyRecorder();
  let reached = 0;
  let localOnly = 0;
  const writes = await writePaced(fleet, ratePerSec, seconds, 'quorum', async (node, entry) => {
    const from = performance.now();
    const result = await fleet.replicator(node).awaitQuorum(entry.seq, QUORUM_TIMEOUT_MS);
    added.add(performance.now() - from);
    if (result.reached) reached++;
    else localOnly++;
  });
  const intake = await drained();
  return {
    measured: true,
    path: 'Replicator.awaitQuorum in process, right after the authorize promise resolved',
    timeoutMs: QUORUM_TIMEOUT_MS,
    ratePerNodePerSec: ratePerSec,
    seconds,
    decisions: reached + localOnly,
    reached,
    localOnly,
    addedLatency: added.summary(),
    writes,
    intake,
  };
}
