import { roundTo } from './latency.js';
import type { MachineInfo } from './machine.js';
import type { BrokerKind } from './replication-options.js';
import type { QuorumReport } from './replication-quorum.js';
import type { RawResult } from './replication-raw.js';
import type { FleetRawResult } from './replication-raw-fleet.js';
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
  /** Where the nodes run: one machine's cores hosting a whole store, not one box per node. */
  readonly process: string;
}

export interface ReplicationPhase {
  readonly writes: WriteResult;
  /** Phase start → every peer holds every entry. */
  readonly seconds: number;
  /** Entries stored by all peers together per second. */
  readonly aggregateEntriesPerSec: number;
  readonly intake: PhaseIntake;
  /** Own entries published per message (a lone entry or a run) over all nodes: how well the outbox batched. */
  readonly entriesPerMessage: number;
  /** CPU time of the whole process (every thread, user + system) over the phase's wall time: out of the machine's cores. */
  readonly cpuCoresBusy: number;
  /** Share of the phase each node's thread was busy, by node: near 1, that node was the bottleneck. */
  readonly nodeThreadBusy: Readonly<Record<string, number>>;
  /** Share of the phase the main thread was busy: the embedded broker when aedes, else only the bench's own polling. */
  readonly mainThreadBusy: number;
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
    /**
     * The limit in the fleet's shape: each node's thread publishing its stream as fast as the
     * window allows and receiving its peers' streams, all at once, as replication runs.
     */
    readonly fleet: FleetRawResult;
    /** One publisher to one subscriber on one thread, nothing else running: the broker hop alone. */
    readonly limit: RawResult;
    /** At the rate one peer receives in the steady phase: the broker hop's latency without a queue. */
    readonly paced: RawResult;
  };
  readonly replication: {
    /** As fast as the journals allow: writing and replicating on the same cores. */
    readonly burst: ReplicationPhase;
    /**
     * A backlog written while the replicators were stopped, then replicated: the replication path
     * alone (outbox, broker, verification, replica commits), without the writers sharing the cores.
     * The throughput figure: what a peer catches up at after a partition or a broker restart.
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
    /**
     * Replicated entries/s: the slowest peer's intake in the catch-up (replication alone, the
     * journals already written) against the slowest node's raw intake in the same shape.
     */
    readonly throughput: Target;
    /** For reading it: the burst, where the same cores also write the journals (not part of meetsTarget). */
    readonly throughputWithWrites: Target;
    /** For reading it: against one publisher to one subscriber on a thread of its own (not part of meetsTarget). */
    readonly throughputVsPair: Target;
    /** Steady lag p99 against the raw limit's p99. */
    readonly lag: Target;
    /** For reading the lag: against the raw p99 at the same per-connection rate (not part of meetsTarget). */
    readonly lagAtSameRate: Target;
  };
  readonly meetsTarget: boolean;
}

export const THROUGHPUT_MIN_RATIO = 0.5;
export const LAG_MAX_RATIO = 2;

export function replicationTargets(raw: ReplicationBenchReport['raw'], replication: ReplicationBenchReport['replication']): ReplicationBenchReport['targets'] {
  const slowest = (phase: ReplicationPhase): number => Math.min(...phase.intake.peers.map((p) => p.entriesPerSec));
  const lagP99 = replication.steady.intake.lag.p99Ms;
  const shape = `x the slowest node's raw msgs/s received, every node publishing and receiving at once`;
  return {
    throughput: atLeast(`catch-up: entries/s stored by the slowest peer >= ${THROUGHPUT_MIN_RATIO} ${shape}`, slowest(replication.catchUp), raw.fleet.slowestMsgsPerSec, THROUGHPUT_MIN_RATIO),
    throughputWithWrites: atLeast(`burst: entries/s stored by the slowest peer >= ${THROUGHPUT_MIN_RATIO} ${shape}`, slowest(replication.burst), raw.fleet.slowestMsgsPerSec, THROUGHPUT_MIN_RATIO),
    throughputVsPair: atLeast(`catch-up: entries/s stored by the slowest peer >= ${THROUGHPUT_MIN_RATIO} x one pair's raw msgs/s`, slowest(replication.catchUp), raw.limit.msgsPerSec, THROUGHPUT_MIN_RATIO),
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
