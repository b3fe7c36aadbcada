import { LATENCY_BUCKETS_SECONDS } from './metric-names.js';

/** Cumulative counts of one histogram as a thread keeps them: per bucket (not cumulated over buckets), plus sum and count. */
export interface LatencySnapshot {
  /** Observations at or below each bound of LATENCY_BUCKETS_SECONDS and above the one before; the last element counts those above every bound. */
  readonly perBucket: readonly number[];
  readonly sumSeconds: number;
  readonly count: number;
}

/**
 * A histogram's counts kept where the work happens, in a thread without prom-client (the journal
 * writer's group commit): fixed memory, one array increment per observation. The main thread reads
 * a snapshot at scrape time (MergedHistogram).
 */
export class LatencyBuckets {
  private readonly perBucket = new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0);
  private sumSeconds = 0;
  private count = 0;

  observeMs(durationMs: number): void {
    if (!Number.isFinite(durationMs) || durationMs < 0) return;
    const seconds = durationMs / 1_000;
    let index = LATENCY_BUCKETS_SECONDS.findIndex((bound) => seconds <= bound);
    if (index === -1) index = LATENCY_BUCKETS_SECONDS.length;
    this.perBucket[index]! += 1;
    this.sumSeconds += seconds;
    this.count += 1;
  }

  snapshot(): LatencySnapshot {
    return { perBucket: [...this.perBucket], sumSeconds: this.sumSeconds, count: this.count };
  }
}
