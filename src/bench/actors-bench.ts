import { cpus } from 'node:os';
import { BadInputError } from '../errors.js';
import { roundTo } from './latency.js';
import { checkSeconds } from './options.js';
import { type PairedRoundTrips, type RoundTripResult, measureRoundTrips } from './actors-round-trips.js';
import { type RestartResult, measureRestarts } from './actors-restart.js';

export interface ActorsBenchOptions {
  readonly seconds?: number;
  /** Requests in flight for the pipelined phases (default 32). */
  readonly pipelineDepth?: number;
  /** Crash → serving-again cycles measured (default 50). */
  readonly restarts?: number;
  /** Human progress; the report itself is the return value. */
  readonly progress?: (line: string) => void;
}

export interface ActorsBenchReport {
  readonly bench: 'actors';
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string; readonly platform: string; readonly arch: string };
  readonly parameters: {
    readonly secondsPerPhase: number;
    readonly warmupSecondsPerPhase: number;
    readonly pipelineDepth: number;
    readonly restarts: number;
    readonly rounds: number;
    readonly restartIntervalMs: number;
    readonly payload: string;
  };
  /** One request at a time: raw ping-pong against actor request/reply. */
  readonly sequential: PairedRoundTrips;
  /** pipelineDepth requests in flight, same pairing. */
  readonly pipelined: PairedRoundTrips;
  readonly restart: {
    /** Each restart boots a new thread. */
    readonly cold: RestartResult;
    /** Each restart takes a thread booted ahead of need (SpareThreads). */
    readonly spare: RestartResult;
  };
  readonly ratios: {
    /** Actor request/reply at concurrency 1 as a fraction of raw ping-pong (median over rounds). */
    readonly sequentialVsRaw: number;
    readonly pipelinedVsRaw: number;
  };
  readonly targets: {
    readonly sequentialVsRawMin: number;
    readonly sequentialVsRawMet: boolean;
    readonly restartP99MsMax: number;
    readonly restartColdP99Met: boolean;
    readonly restartSpareP99Met: boolean;
  };
}

export const ACTORS_BENCH_DEFAULTS = { seconds: 2, pipelineDepth: 32, restarts: 50 } as const;
/** Alternations of raw and actor phases; each lasts seconds / ROUNDS. */
const ROUNDS = 5;
const PIPELINE_DEPTH_RANGE = { min: 2, max: 4096 } as const;
const RESTARTS_RANGE = { min: 1, max: 10_000 } as const;
const MAX_WARMUP_SECONDS = 0.5;
/** Time an actor serves between crashes in the restart phases: a short supervisor backoff. */
const RESTART_INTERVAL_MS = 50;
const TARGET_SEQUENTIAL_VS_RAW = 0.7;
const TARGET_RESTART_P99_MS = 50;

/**
 * What the actor runtime costs against the thread boundary it is built on: raw postMessage round
 * trips first (the ceiling), then the same loop through request/reply, then crash-to-serving
 * restarts. Phases run one after another on the same machine, so their ratio is the useful figure.
 */
export async function runActorsBench(options: ActorsBenchOptions = {}): Promise<ActorsBenchReport> {
  const seconds = checkSeconds(options.seconds ?? ACTORS_BENCH_DEFAULTS.seconds);
  const pipelineDepth = checkWhole('pipelineDepth', options.pipelineDepth ?? ACTORS_BENCH_DEFAULTS.pipelineDepth, PIPELINE_DEPTH_RANGE);
  const restarts = checkWhole('restarts', options.restarts ?? ACTORS_BENCH_DEFAULTS.restarts, RESTARTS_RANGE);
  const progress = options.progress ?? (() => undefined);
  const warmupSeconds = Math.min(MAX_WARMUP_SECONDS, seconds / 4);
  const startedAt = new Date();
  const began = performance.now();
  const phase = { seconds, warmupSeconds, rounds: ROUNDS };

  progress(`sequential round trips (1 outstanding): raw postMessage and actor request/reply alternating, ${seconds} s each`);
  const sequential = await measureRoundTrips({ ...phase, outstanding: 1 });
  progress(`  raw   ${line(sequential.raw)}`);
  progress(`  actor ${line(sequential.actor)} (${sequential.ratio} of raw)`);
  progress(`pipelined round trips (${pipelineDepth} outstanding), ${seconds} s each`);
  const pipelined = await measureRoundTrips({ ...phase, outstanding: pipelineDepth });
  progress(`  raw   ${line(pipelined.raw)}`);
  progress(`  actor ${line(pipelined.actor)} (${pipelined.ratio} of raw)`);
  progress(`restart latency over ${restarts} crashes, booting a new thread each time`);
  const cold = await measureRestarts({ restarts, intervalMs: RESTART_INTERVAL_MS, spares: false });
  progress(`  p50 ${cold.total.p50Ms} ms, p99 ${cold.total.p99Ms} ms`);
  progress(`restart latency over ${restarts} crashes, on spare threads`);
  const spare = await measureRestarts({ restarts, intervalMs: RESTART_INTERVAL_MS, spares: true });
  progress(`  p50 ${spare.total.p50Ms} ms, p99 ${spare.total.p99Ms} ms`);

  const sequentialVsRaw = sequential.ratio;
  const cpuList = cpus();
  return {
    bench: 'actors',
    startedAt: startedAt.toISOString(),
    durationSeconds: roundTo((performance.now() - began) / 1000, 2),
    machine: { cpus: cpuList.length, cpuModel: cpuList[0]?.model.trim() ?? 'unknown', node: process.version, platform: process.platform, arch: process.arch },
    parameters: { secondsPerPhase: seconds, warmupSecondsPerPhase: warmupSeconds, pipelineDepth, restarts, rounds: ROUNDS, restartIntervalMs: RESTART_INTERVAL_MS, payload: 'a small object { id, body } echoed back' },
    sequential,
    pipelined,
    restart: { cold, spare },
    ratios: { sequentialVsRaw, pipelinedVsRaw: pipelined.ratio },
    targets: {
      sequentialVsRawMin: TARGET_SEQUENTIAL_VS_RAW,
      sequentialVsRawMet: sequentialVsRaw >= TARGET_SEQUENTIAL_VS_RAW,
      restartP99MsMax: TARGET_RESTART_P99_MS,
      restartColdP99Met: cold.total.p99Ms < TARGET_RESTART_P99_MS,
      restartSpareP99Met: spare.total.p99Ms < TARGET_RESTART_P99_MS,
    },
  };
}

function line(result: RoundTripResult): string {
  return `${result.roundTripsPerSec} round trips/s, p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms`;
}

function checkWhole(option: string, value: number, range: { readonly min: number; readonly max: number }): number {
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new BadInputError('actors bench options', [{ path: option, message: `must be a whole number from ${range.min} to ${range.max}`, value }]);
  }
  return value;
}
