import { join } from 'node:path';
import type { CardFacts } from '../card/card-facts.js';
import { Journal } from '../journal/journal.js';
import { StandIn } from '../standin/stand-in.js';
import { BENCH_CURRENCY, benchRules } from './bench-rules.js';
import { LatencyRecorder, type LatencySummary, ratePerSecond, roundTo } from './latency.js';

export interface PipelineOptions {
  readonly dir: string;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly concurrency: number;
  readonly cards: readonly CardFacts[];
}

export interface BatchStats {
  /** Commits that carried at least one measured request. */
  readonly commits: number;
  readonly meanSize: number;
  readonly p50Size: number;
  readonly maxSize: number;
}

export interface PipelineResult {
  readonly concurrency: number;
  readonly decisions: number;
  readonly approved: number;
  readonly declined: number;
  /** Rejected promises (overload, bad input): none are expected. */
  readonly errors: number;
  readonly seconds: number;
  readonly decisionsPerSec: number;
  /** From authorize() to its promise settling, i.e. until the entry is durable. */
  readonly latency: LatencySummary;
  readonly batches: BatchStats;
}

/**
 * The whole stand-in path as a reader drives it: validation, the offline rules, hashing and
 * appending inside the real group commit, answered only after the commit's fsync. Closed loop:
 * each of `concurrency` lanes sends its next request when the previous one was answered, so the
 * load adapts to the pipeline instead of queueing without bound.
 */
export async function measurePipeline(options: PipelineOptions): Promise<PipelineResult> {
  const { concurrency, cards } = options;
  const journal = Journal.open({ path: join(options.dir, `pipeline-c${concurrency}.db`), nodeId: 'bench-node' });
  try {
    const standIn = StandIn.open({ journal, rules: benchRules() });
    const latency = new LatencyRecorder();
    /*
     * Batch sizes without instrumenting the journal: a batch's promises settle together, after its
     * commit moved the chain head and before the next batch can run (the next flush is a later
     * macrotask), so every request of one batch sees the same head when it resumes.
     */
    const perHead = new Map<number, number>();
    let approved = 0;
    let declined = 0;
    let errors = 0;
    let next = 0;

    const startedAt = performance.now();
    const measureFrom = startedAt + options.warmupSeconds * 1000;
    const deadline = measureFrom + options.seconds * 1000;
    let lastDone = measureFrom;

    const lane = async (laneNo: number): Promise<void> => {
      for (;;) {
        const sentAt = performance.now();
        if (sentAt >= deadline) return;
        const n = next++;
        const request = {
          idempotencyKey: `bench-c${concurrency}-${n}`,
          amountMinor: 100 + ((n * 7919) % 9_900),
          currency: BENCH_CURRENCY,
          card: cards[n % cards.length] as CardFacts,
          lane: `lane-${laneNo}`,
          reference: `r-${n}`,
        };
        let ok = true;
        let outcomeApproved = false;
        try {
          outcomeApproved = (await standIn.authorize(request)).decision.approved;
        } catch {
          ok = false;
        }
        const doneAt = performance.now();
        if (sentAt < measureFrom) continue;
        const head = journal.chainHead().seq;
        perHead.set(head, (perHead.get(head) ?? 0) + 1);
        latency.add(doneAt - sentAt);
        if (doneAt > lastDone) lastDone = doneAt;
        if (!ok) errors++;
        else if (outcomeApproved) approved++;
        else declined++;
      }
    };

    await Promise.all(Array.from({ length: concurrency }, (_, i) => lane(i + 1)));
    await standIn.idle();
    const elapsedMs = lastDone - measureFrom;
    const decisions = approved + declined;
    return {
      concurrency,
      decisions,
      approved,
      declined,
      errors,
      seconds: roundTo(elapsedMs / 1000, 3),
      decisionsPerSec: ratePerSecond(decisions, elapsedMs),
      latency: latency.summary(),
      batches: batchStats([...perHead.values()]),
    };
  } finally {
    journal.close();
  }
}

function batchStats(sizes: number[]): BatchStats {
  if (sizes.length === 0) return { commits: 0, meanSize: 0, p50Size: 0, maxSize: 0 };
  sizes.sort((a, b) => a - b);
  const total = sizes.reduce((sum, size) => sum + size, 0);
  return {
    commits: sizes.length,
    meanSize: roundTo(total / sizes.length, 2),
    p50Size: sizes[Math.ceil(sizes.length / 2) - 1] as number,
    maxSize: sizes[sizes.length - 1] as number,
  };
}
