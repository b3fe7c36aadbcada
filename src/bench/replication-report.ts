import { roundTo } from './latency.js';
import type { MachineInfo } from './machine.js';
import type { BrokerKind } from './replication-options.js';
import type { QuorumReport } from './replication-quorum.js';
import type { RawResult } from './replication-raw.js';
import type { PhaseIntake } from './replication-tracker.js';
import type { WriteResult } from './replication-load.js';

export interface ReplicationParameters {
  readonly broker: { readonly kind: BrokerKind; readonly version: string; readonly config: string };
  readonly nodes: readonly string[];
  readonly secondsPerPhase: number;
  readonly rawWarmupSeconds: number;
  readonly inflightWindow: number;
  readonly payloadBytes: number;
  readonly burstEntriesPerNode: number;
  readonly burstConcurrencyPerNode: number;
  readonly steadyRatePerNodePerSec: number;
  /** One peer's intake in the steady phase (it hears every other node): the paced raw phase's rate. */
  readonly rawPacedRatePerSec: number;
  readonly publishTrigger: string;
  readonly warmupEntriesPerNode: number;
  readonly cardPool: number;
  /** Where the nodes run: the figures of one box hosting a whole store, not of one node per box. */
  readonly process: string;
}

export interface ReplicationPhase {
  readonly writes: WriteResult;
  /** Phase start → every peer holds every entry. */
  readonly seconds: number;
  /** Entries stored by all peers together per second. */
  readonly aggregateEntriesPerSec: number;
  readonly intake: PhaseIntake;
  /** Share of the phase the one shared thread was busy: near 1, the nodes were waiting for each other's work. */
  readonly eventLoopUtilization: number;
}

export interface Target {
  readonly rule: string;
  readonly measured: number;
  readonly reference: number;
  readonly ratio: number;
  readonly meetsTarget: boolean;
}

export interface ReplicationBenchReport {
  readonly bench: 'replication';
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: MachineInfo;
  readonly parameters: ReplicationParameters;
  readonly dataDir: { readonly path: string; readonly kept: boolean };
  readonly raw: {
    /** The limit: as fast as the window allows. */
    readonly limit: RawResult;
    /** At the rate one peer receives in the steady phase: the broker hop's latency without a queue. */
    readonly paced: RawResult;
  };
  readonly replication: {
    /** As fast as the journals allow: the throughput figure. */
    readonly burst: ReplicationPhase;
    /**
     * A backlog written while the replicators were stopped, then replicated: the replication path
     * alone (outbox, broker, verification, replica commits), without the writers sharing the thread.
     */
    readonly catchUp: ReplicationPhase;
    /** A steady rate per node: the lag figure. */
    readonly steady: ReplicationPhase;
  };
  readonly quorum: QuorumReport;
  readonly delivery: {
    /** Every entry of every node in every peer's replica, same head hash, chain verified. */
    readonly allReplicated: boolean;
    readonly missing: number;
    readonly verified: boolean;
    readonly replicatorWarnings: number;
    readonly replicatorErrors: number;
    readonly firstLogLines: readonly string[];
  };
  readonly targets: {
    /** The slowest peer's intake in the burst against the raw limit's rate. */
    readonly throughput: Target;
    /** Steady lag p99 against the raw limit's p99. */
    readonly lag: Target;
    /** For reading the lag: against the raw p99 at the same per-connection rate (not part of meetsTarget). */
    readonly lagAtSameRate: Target;
  };
  readonly meetsTarget: boolean;
}

export const THROUGHPUT_MIN_RATIO = 0.5;
export const LAG_MAX_RATIO = 2;

export function replicationTargets(raw: ReplicationBenchReport['raw'], burst: ReplicationPhase, steady: ReplicationPhase): ReplicationBenchReport['targets'] {
  const slowest = Math.min(...burst.intake.peers.map((p) => p.entriesPerSec));
  const lagP99 = steady.intake.lag.p99Ms;
  return {
    throughput: atLeast(`burst: entries/s stored by the slowest peer >= ${THROUGHPUT_MIN_RATIO} x raw msgs/s`, slowest, raw.limit.msgsPerSec, THROUGHPUT_MIN_RATIO),
    lag: atMost(`steady: commit -> stored-at-peer p99 <= ${LAG_MAX_RATIO} x raw p99 (window ${raw.limit.window}, saturated)`, lagP99, raw.limit.latency.p99Ms, LAG_MAX_RATIO),
    lagAtSameRate: atMost(`steady: lag p99 <= ${LAG_MAX_RATIO} x raw p99 paced at one peer's intake rate`, lagP99, raw.paced.latency.p99Ms, LAG_MAX_RATIO),
  };
}

function atLeast(rule: string, measured: number, reference: number, minRatio: number): Target {
  const ratio = reference > 0 ? roundTo(measured / reference, 3) : 0;
  return { rule, measured, reference, ratio, meetsTarget: reference > 0 && ratio >= minRatio };
}

function atMost(rule: string, measured: number, reference: number, maxRatio: number): Target {
  const ratio = reference > 0 ? roundTo(measured / reference, 3) : 0;
  return { rule, measured, reference, ratio, meetsTarget: reference > 0 && ratio <= maxRatio };
}
