import type { FsyncProbeResult } from './fsync-limit.js';
import { roundTo } from './latency.js';
import type { PipelineResult } from './pipeline.js';
import type { RawInsertResult } from './raw-inserts.js';

export interface RatioCheck {
  readonly value: number | null;
  readonly target: string;
  /** null when a figure it needs was not measured (e.g. --concurrency without that level). */
  readonly meetsTarget: boolean | null;
  readonly definition: string;
}

export interface BenchRatios {
  /** How much of the storage's batched throughput the full pipeline keeps under load. */
  readonly pipeline256VsRaw64Throughput: RatioCheck;
  /** How much a lone request pays over the bare durable write it cannot avoid. */
  readonly pipeline1P99VsFsyncP99: RatioCheck;
  /**
   * The fsync limit's p99 after the run over before it. Far from 1 means the disk (or a neighbour
   * on it) changed speed mid-run, and the ratios above compare figures taken under different conditions.
   */
  readonly fsyncDrift: { readonly p99AfterVsBefore: number | null; readonly stable: boolean | null; readonly stableRange: string };
}

export const THROUGHPUT_TARGET = 0.5;
export const LATENCY_TARGET = 2;

/** A p99 that moved by more than this factor either way between the two probes marks the run as unstable. */
export const DRIFT_TOLERANCE = 1.5;

export function benchRatios(fsync: FsyncProbeResult, fsyncAfter: FsyncProbeResult, raw64: RawInsertResult, pipeline: readonly PipelineResult[]): BenchRatios {
  const at = (concurrency: number): PipelineResult | undefined => pipeline.find((p) => p.concurrency === concurrency);
  const loaded = at(256);
  const lone = at(1);
  const throughput = loaded && raw64.rowsPerSec > 0 ? loaded.decisionsPerSec / raw64.rowsPerSec : null;
  const drift = fsync.latency.p99Ms > 0 ? fsyncAfter.latency.p99Ms / fsync.latency.p99Ms : null;
  const latency = lone && fsync.latency.p99Ms > 0 ? lone.latency.p99Ms / fsync.latency.p99Ms : null;
  return {
    pipeline256VsRaw64Throughput: {
      value: throughput === null ? null : roundTo(throughput, 3),
      target: `>= ${THROUGHPUT_TARGET}`,
      meetsTarget: throughput === null ? null : throughput >= THROUGHPUT_TARGET,
      definition: 'pipeline decisions/s at concurrency 256 / raw inserts rows/s at 64 rows per transaction',
    },
    pipeline1P99VsFsyncP99: {
      value: latency === null ? null : roundTo(latency, 3),
      target: `<= ${LATENCY_TARGET}`,
      meetsTarget: latency === null ? null : latency <= LATENCY_TARGET,
      definition: `pipeline p99 latency at concurrency 1 / raw ${fsync.mode} p99 latency`,
    },
    fsyncDrift: {
      p99AfterVsBefore: drift === null ? null : roundTo(drift, 3),
      stable: drift === null ? null : drift <= DRIFT_TOLERANCE && drift >= 1 / DRIFT_TOLERANCE,
      stableRange: `${roundTo(1 / DRIFT_TOLERANCE, 3)} to ${DRIFT_TOLERANCE}`,
    },
  };
}
