import { DEFAULT_GROUP_COMMIT, type GroupCommitOptions } from '../journal/group-commit.js';
import { makeRunDir } from '../rigs/run-dir.js';
import { makeCardPool } from './bench-cards.js';
import { type FsyncProbeResult, measureFsyncLimit, measureSqliteStyleSync } from './fsync-limit.js';
import { roundTo } from './latency.js';
import { type MachineInfo, machineInfo } from './machine.js';
import { DEFAULT_CARDS, DEFAULT_CONCURRENCY, DEFAULT_SECONDS, checkCards, checkConcurrency, checkSeconds } from './options.js';
import { type PipelineResult, measurePipeline } from './pipeline.js';
import { type BenchRatios, benchRatios } from './ratios.js';
import { type RawInsertResult, measureRawInserts } from './raw-inserts.js';

export interface JournalBenchOptions {
  /** Parent directory on the filesystem to measure; default the OS temporary directory. */
  readonly dir?: string;
  readonly keep?: boolean;
  readonly seconds?: number;
  readonly cards?: number;
  readonly concurrency?: readonly number[];
  /** Human progress; the report itself is the return value. */
  readonly progress?: (line: string) => void;
}

export interface JournalBenchParameters {
  readonly secondsPerPhase: number;
  readonly warmupSecondsPerPhase: number;
  readonly fsyncBlockBytes: number;
  readonly rawRowsPerTransaction: readonly number[];
  readonly concurrency: readonly number[];
  readonly cardPool: number;
  readonly sealedBytes: number;
  readonly groupCommit: GroupCommitOptions;
}

export interface JournalBenchReport {
  readonly bench: 'journal';
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: MachineInfo;
  readonly parameters: JournalBenchParameters;
  readonly dataDir: { readonly path: string; readonly kept: boolean };
  readonly fsync: {
    readonly limit: FsyncProbeResult;
    readonly sqliteStyle: FsyncProbeResult;
    /** The limit probe again after the pipeline: phases run one after another, so a disk that changed speed meanwhile shows here. */
    readonly limitAfter: FsyncProbeResult;
  };
  readonly rawInserts: readonly RawInsertResult[];
  readonly pipeline: readonly PipelineResult[];
  readonly ratios: BenchRatios;
}

const FSYNC_BLOCK_BYTES = 4096;
const RAW_ROWS_PER_TRANSACTION = [1, 64] as const;
/** Long enough for the JIT and SQLite's page cache to settle, short enough not to dominate a quick run. */
const MAX_WARMUP_SECONDS = 0.5;

/**
 * The durable-commit ladder on one filesystem, bottom to top: what the disk can flush, what SQLite
 * makes of it with the journal's schema, and what the full stand-in pipeline makes of that.
 */
export async function runJournalBench(options: JournalBenchOptions = {}): Promise<JournalBenchReport> {
  const seconds = checkSeconds(options.seconds ?? DEFAULT_SECONDS);
  const cardCount = checkCards(options.cards ?? DEFAULT_CARDS);
  const concurrency = checkConcurrency(options.concurrency ?? DEFAULT_CONCURRENCY);
  const keep = options.keep === true;
  const progress = options.progress ?? (() => undefined);
  const warmupSeconds = Math.min(MAX_WARMUP_SECONDS, seconds / 4);
  const startedAt = new Date();
  const began = performance.now();

  const dir = makeRunDir(options.dir);
  try {
    progress(`data directory ${dir.path}`);
    const machine = machineInfo(dir.path);

    progress(`fsync limit: ${FSYNC_BLOCK_BYTES} B append + fdatasync for ${seconds} s`);
    const limit = measureFsyncLimit({ dir: dir.path, seconds, blockBytes: FSYNC_BLOCK_BYTES });
    progress(`  ${limit.opsPerSec} ops/s, p50 ${limit.latency.p50Ms} ms, p99 ${limit.latency.p99Ms} ms`);
    progress(`fsync as SQLite issues it: ${FSYNC_BLOCK_BYTES} B overwrite + fsync for ${seconds} s`);
    const sqliteStyle = measureSqliteStyleSync({ dir: dir.path, seconds, blockBytes: FSYNC_BLOCK_BYTES });
    progress(`  ${sqliteStyle.opsPerSec} ops/s, p50 ${sqliteStyle.latency.p50Ms} ms, p99 ${sqliteStyle.latency.p99Ms} ms`);

    const rawInserts: RawInsertResult[] = [];
    for (const rowsPerTransaction of RAW_ROWS_PER_TRANSACTION) {
      progress(`raw inserts: ${rowsPerTransaction} row(s) per transaction for ${seconds} s`);
      const raw = measureRawInserts({ dir: dir.path, seconds, warmupSeconds, rowsPerTransaction });
      progress(`  ${raw.rowsPerSec} rows/s, ${raw.transactionsPerSec} tx/s, p99 ${raw.transactionLatency.p99Ms} ms per tx`);
      rawInserts.push(raw);
    }

    progress(`card pool: capturing ${cardCount} cards before timing`);
    const cards = makeCardPool(cardCount);
    const pipeline: PipelineResult[] = [];
    for (const level of concurrency) {
      progress(`pipeline: authorize + append at concurrency ${level} for ${seconds} s`);
      const result = await measurePipeline({ dir: dir.path, seconds, warmupSeconds, concurrency: level, cards });
      progress(`  ${result.decisionsPerSec} decisions/s, p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms, ` + `mean batch ${result.batches.meanSize}`);
      pipeline.push(result);
    }

    progress(`fsync limit again, to see whether the disk changed speed during the run (${seconds} s)`);
    const limitAfter = measureFsyncLimit({ dir: dir.path, seconds, blockBytes: FSYNC_BLOCK_BYTES });
    progress(`  ${limitAfter.opsPerSec} ops/s, p50 ${limitAfter.latency.p50Ms} ms, p99 ${limitAfter.latency.p99Ms} ms`);

    const raw64 = rawInserts.find((r) => r.rowsPerTransaction === 64) as RawInsertResult;
    const ratios = benchRatios(limit, limitAfter, raw64, pipeline);
    if (ratios.fsyncDrift.stable === false) {
      progress(`WARNING: fsync p99 moved by a factor ${ratios.fsyncDrift.p99AfterVsBefore} during the run; the ratios compare figures taken under different disk conditions`);
    }
    return {
      bench: 'journal',
      startedAt: startedAt.toISOString(),
      durationSeconds: roundTo((performance.now() - began) / 1000, 1),
      machine,
      parameters: {
        secondsPerPhase: seconds,
        warmupSecondsPerPhase: warmupSeconds,
        fsyncBlockBytes: FSYNC_BLOCK_BYTES,
        rawRowsPerTransaction: [...RAW_ROWS_PER_TRANSACTION],
        concurrency,
        cardPool: cardCount,
        sealedBytes: cards[0]?.sealed.length ?? 0,
        groupCommit: DEFAULT_GROUP_COMMIT,
      },
      dataDir: { path: dir.path, kept: keep },
      fsync: { limit, sqliteStyle, limitAfter },
      rawInserts,
      pipeline,
      ratios,
    };
  } finally {
    dir.release(keep);
  }
}
