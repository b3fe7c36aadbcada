import type { BoxWrites } from './replication-box-protocol.js';
import type { BenchFleet } from './replication-fleet.js';

export interface NodeWrites {
  readonly node: string;
  readonly written: number;
  /** Commits per second on this node's journal, from the phase's start to its last commit. */
  readonly entriesPerSec: number;
}

export interface WriteResult {
  readonly nodes: readonly NodeWrites[];
  /** Requests that did not end in a journal entry: none are expected. */
  readonly errors: number;
  readonly firstError: string | null;
}

/**
 * As fast as each journal allows: `concurrency` requests in flight per node, closed loop, so the
 * group commit batches them as it would a busy store's lanes, until `entries` per node are written.
 */
export async function writeBurst(fleet: BenchFleet, entries: number, concurrency: number, tag: string): Promise<WriteResult> {
  return combineWrites(await fleet.burst(entries, concurrency, tag));
}

/** A steady `ratePerSec` per node for `seconds`, open loop (see the box's `paced`). */
export async function writePaced(fleet: BenchFleet, ratePerSec: number, seconds: number, tag: string): Promise<WriteResult> {
  return combineWrites(await fleet.paced(ratePerSec, seconds, tag));
}

export function combineWrites(boxes: readonly BoxWrites[]): WriteResult {
  return {
    nodes: boxes.map(({ node, written, entriesPerSec }) => ({ node, written, entriesPerSec })),
    errors: boxes.reduce((sum, b) => sum + b.errors, 0),
    firstError: boxes.find((b) => b.firstError !== null)?.firstError ?? null,
  };
}
