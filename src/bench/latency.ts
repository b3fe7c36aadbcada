/** Latency percentiles of one measured phase, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * Keeps every sample rather than a histogram or running mean: a few hundred thousand doubles cost
 * a few MB, and exact tail percentiles are the point of the benchmark.
 */
export class LatencyRecorder {
  private samples = new Float64Array(4096);
  private size = 0;

  get count(): number {
    return this.size;
  }

  add(ms: number): void {
    if (this.size === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.size++] = ms;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.size).sort();
    let total = 0;
    for (const value of sorted) total += value;
    return {
      count: this.size,
      meanMs: roundTo(this.size === 0 ? 0 : total / this.size, 4),
      p50Ms: roundTo(percentile(sorted, 0.5), 4),
      p90Ms: roundTo(percentile(sorted, 0.9), 4),
      p99Ms: roundTo(percentile(sorted, 0.99), 4),
      maxMs: roundTo(sorted.length === 0 ? 0 : (sorted[sorted.length - 1] as number), 4),
    };
  }
}

/** Nearest-rank percentile: always a sample that was actually observed, never an interpolation. */
export function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  return sorted[rank - 1] as number;
}

export function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Per-second rate, rounded for a report that people read. */
export function ratePerSecond(count: number, elapsedMs: number): number {
  return elapsedMs <= 0 ? 0 : roundTo((count * 1000) / elapsedMs, 1);
}
