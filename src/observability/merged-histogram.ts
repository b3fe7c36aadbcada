import { Histogram, type MetricObjectWithValues, type MetricType, type MetricValueWithName, type Registry } from 'prom-client';
import type { LatencySnapshot } from '../metrics/latency-buckets.js';
import { LATENCY_BUCKETS_SECONDS } from '../metrics/metric-names.js';

/**
 * A Prometheus histogram whose observations are counted in another thread (LatencyBuckets) and
 * read at scrape time. prom-client's Histogram has no way to add counts in bulk, so this one keeps
 * its own totals and answers the registry itself; `observe` is never used. The thread counts from
 * its own start: a snapshot lower than the last one is a restarted thread's, all of it new, so the
 * exported counts only grow, as Prometheus expects of a histogram.
 */
export class MergedHistogram extends Histogram<string> {
  private readonly totals = new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0);
  private totalSumSeconds = 0;
  private totalCount = 0;
  private last: LatencySnapshot | undefined;

  constructor(
    registry: Registry,
    private readonly seriesName: string,
    private readonly helpText: string,
    private readonly read: () => Promise<LatencySnapshot | undefined>,
  ) {
    super({ name: seriesName, help: helpText, buckets: [...LATENCY_BUCKETS_SECONDS], registers: [registry] });
  }

  private absorb(next: LatencySnapshot): void {
    const previous = this.last !== undefined && next.count >= this.last.count ? this.last : undefined;
    next.perBucket.forEach((count, i) => (this.totals[i]! += count - (previous?.perBucket[i] ?? 0)));
    this.totalSumSeconds += next.sumSeconds - (previous?.sumSeconds ?? 0);
    this.totalCount += next.count - (previous?.count ?? 0);
    this.last = next;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    // A thread that does not answer leaves the totals as they were rather than failing the scrape.
    const snapshot = await this.read().catch(() => undefined);
    if (snapshot !== undefined) this.absorb(snapshot);
    const values: MetricValueWithName<string>[] = [];
    let cumulative = 0;
    LATENCY_BUCKETS_SECONDS.forEach((bound, i) => {
      cumulative += this.totals[i]!;
      values.push({ metricName: `${this.seriesName}_bucket`, labels: { le: bound }, value: cumulative });
    });
    values.push({ metricName: `${this.seriesName}_bucket`, labels: { le: '+Inf' }, value: this.totalCount });
    values.push({ metricName: `${this.seriesName}_sum`, labels: {}, value: this.totalSumSeconds });
    values.push({ metricName: `${this.seriesName}_count`, labels: {}, value: this.totalCount });
    // prom-client's typings declare MetricType a numeric enum; its registry prints the string its own metrics carry.
    return { name: this.seriesName, help: this.helpText, type: 'histogram' as unknown as MetricType, values, aggregator: 'sum', collect: () => undefined };
  }

  /** The registry prefers this one for the text format; both answer the same. */
  getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    return this.get();
  }
}
