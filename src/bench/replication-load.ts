import type { JournalEntry } from '../journal/entry.js';
import { ratePerSecond } from './latency.js';
import type { BenchFleet, FleetNode } from './replication-fleet.js';

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

/** Runs after an entry is durable (the quorum wait); awaited before the write counts as done. */
export type AfterCommit = (node: FleetNode, entry: JournalEntry) => Promise<void>;

const TICK_MS = 1;

class Writes {
  errors = 0;
  firstError: string | null = null;
  private readonly counts = new Map<string, { written: number; lastAt: number }>();

  constructor(
    private readonly fleet: BenchFleet,
    private readonly tag: string,
    private readonly startedAt: number,
    private readonly after?: AfterCommit,
  ) {
    for (const node of fleet.nodes) this.counts.set(node.id, { written: 0, lastAt: startedAt });
  }

  async one(node: FleetNode): Promise<void> {
    try {
      const entry = await this.fleet.authorize(node, this.tag);
      const count = this.counts.get(node.id);
      if (count !== undefined) {
        count.written++;
        count.lastAt = performance.now();
      }
      await this.after?.(node, entry);
    } catch (error) {
      this.errors++;
      this.firstError ??= error instanceof Error ? error.message : String(error);
    }
  }

  result(): WriteResult {
    const nodes = [...this.counts].map(([node, { written, lastAt }]) => ({ node, written, entriesPerSec: ratePerSecond(written, lastAt - this.startedAt) }));
    return { nodes, errors: this.errors, firstError: this.firstError };
  }
}

/**
 * As fast as each journal allows: `concurrency` requests in flight per node, closed loop, so the
 * group commit batches them as it would a busy store's lanes, until `entries` per node are written.
 */
export async function writeBurst(fleet: BenchFleet, entries: number, concurrency: number, tag: string): Promise<WriteResult> {
  const writes = new Writes(fleet, tag, performance.now());
  const lane = async (node: FleetNode, issued: { n: number }): Promise<void> => {
    while (issued.n < entries) {
      issued.n++;
      await writes.one(node);
    }
  };
  await Promise.all(
    fleet.nodes.map((node) => {
      const issued = { n: 0 };
      return Promise.all(Array.from({ length: concurrency }, () => lane(node, issued)));
    }),
  );
  return writes.result();
}

/**
 * A steady `ratePerSec` per node for `seconds`, open loop: requests are issued on schedule whether
 * or not earlier ones were answered, as card taps arrive, so a slow answer shows as lag, not as a
 * lower offered rate.
 */
export async function writePaced(fleet: BenchFleet, ratePerSec: number, seconds: number, tag: string, after?: AfterCommit): Promise<WriteResult> {
  const startedAt = performance.now();
  const writes = new Writes(fleet, tag, startedAt, after);
  const pending: Promise<void>[] = [];
  let issued = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      // Elapsed is capped rather than the clock, so the last tick issues exactly rate × seconds.
      const elapsed = Math.min(performance.now() - startedAt, seconds * 1000);
      const due = Math.floor((elapsed * ratePerSec) / 1000);
      for (; issued < due; issued++) for (const node of fleet.nodes) pending.push(writes.one(node));
      if (elapsed >= seconds * 1000) resolve();
      else setTimeout(tick, TICK_MS);
    };
    tick();
  });
  await Promise.all(pending);
  return writes.result();
}
