import type { Command } from 'commander';
import { type JournalBenchOptions, type JournalBenchReport, runJournalBench } from '../bench/journal-bench.js';
import { DEFAULT_CARDS, DEFAULT_CONCURRENCY, DEFAULT_SECONDS, parseCardsOption, parseConcurrencyOption, parseDirOption, parseSecondsOption } from '../bench/options.js';
import { formatJournalReport } from '../bench/report-text.js';
import { type ActorsBenchReport, runActorsBench } from '../bench/actors-bench.js';
import { type LaneBenchOptions, type LaneBenchReport, runLaneBench } from '../bench/lane-bench.js';
import { DEFAULT_PAYMENTS, parsePaymentsOption } from '../bench/lane-options.js';
import { type ReplicationBenchOptions, runReplicationBench } from '../bench/replication-bench.js';
import { type BrokerKind, DEFAULT_BROKER, DEFAULT_ENTRIES, DEFAULT_REPLICATION_SECONDS, parseBrokerOption, parseEntriesOption } from '../bench/replication-options.js';
import type { ReplicationBenchReport } from '../bench/replication-report.js';
import { runReconcileBench } from '../bench/reconcile-bench.js';
import { runRecoveryBench } from '../bench/recovery-bench.js';
import { runColdStartBench } from '../bench/cold-start-bench.js';
import { DEFAULT_BACKLOG, DEFAULT_RECONCILE_BATCH, type LedgerKind, parseBacklogOption, parseLedgerOption, parseReconcileBatchOption } from '../bench/reconcile-options.js';

interface BenchCliOptions {
  readonly json?: boolean;
  readonly dir?: string;
  readonly keep?: boolean;
  readonly seconds: number;
  readonly cards: number;
  readonly concurrency: number[];
}

interface LaneCliOptions {
  readonly json?: boolean;
  readonly dir?: string;
  readonly keep?: boolean;
  readonly payments: number;
}

interface ReplicationCliOptions {
  readonly json?: boolean;
  readonly dir?: string;
  readonly keep?: boolean;
  readonly broker: BrokerKind;
  readonly entries: number;
}

const progressLine = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

export function registerBenchCommands(program: Command): void {
  const bench = program.command('bench').description("measure this machine: the disk's durable-commit limit, raw SQLite, the journal pipeline on top, actors, and a whole lane");

  withBenchOptions(bench.command('journal'))
    .description('fsync limit, raw inserts at 1 and 64 rows per transaction, and authorize + append at several concurrencies')
    .action(async (opts: BenchCliOptions) => {
      const report = await runJournalBench(benchOptions(opts));
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatJournalReport(report));
    });

  bench
    .command('actors')
    .description('raw postMessage ping-pong (the limit), actor request/reply round trips, and restart latency')
    .option('--json', 'print the results as one JSON object on standard output (progress goes to standard error)')
    .option('--seconds <n>', 'seconds per measured phase, 0.1 to 600', parseSecondsOption, 2)
    .action(async (opts: { json?: boolean; seconds: number }) => {
      const report = await runActorsBench({ seconds: opts.seconds, progress: progressLine });
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
    });

  bench
    .command('lane')
    .description("one lane end to end (POS API → reader on a socat pty pair → journal fsync → answer), paced at the reader's baud rate and raw, beside the wire time of its frames")
    .option('--json', 'print the results as one JSON object on standard output (progress goes to standard error)')
    .option('--dir <path>', "directory for the nodes' data; a fresh subdirectory is made in it (default: the OS temp directory)", parseDirOption)
    .option('--keep', "keep the benchmark's data directory instead of removing it")
    .option('--payments <n>', 'measured payments per mode, 1 to 100000', parsePaymentsOption, DEFAULT_PAYMENTS)
    .action(async (opts: LaneCliOptions) => {
      const report = await runLaneBench(laneOptions(opts));
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
    });

  const replication = bench
    .command('replication')
    .description('three nodes replicating through one broker: raw mqtt.js QoS 1 (the limit), then replication throughput, lag and quorum wait')
    .option('--json', 'print the results as one JSON object on standard output (progress goes to standard error)')
    .option('--dir <path>', "directory for the nodes' data; a fresh subdirectory is made in it (default: the OS temporary directory)", parseDirOption)
    .option('--keep', "keep the benchmark's data directory instead of removing it")
    .option('--seconds <n>', 'seconds per timed phase (raw limit, raw paced, steady, quorum), 0.1 to 600', parseSecondsOption, DEFAULT_REPLICATION_SECONDS);
  withReplicationOptions(replication).action(async (opts: ReplicationCliOptions & { seconds: number }) => {
    const report = await runReplicationBench(replicationOptions(opts, opts.seconds));
    process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
  });

  bench
    .command('reconcile')
    .description("drain a backlog of journal entries through the uplink into the central ledger, beside the backend's raw insert rate")
    .option('--json', 'print the results as one JSON object on standard output (progress goes to standard error)')
    .option('--backend <kind>', 'ledger backend: sqlite (embedded) or postgres (a throwaway server unless --postgres-url is given)', parseLedgerOption, 'sqlite' as LedgerKind)
    .option('--entries <n>', 'journal entries in the backlog, 1000 to 10000000', parseBacklogOption, DEFAULT_BACKLOG)
    .option('--batch <n>', 'entries per forwarded batch, 1 to 10000', parseReconcileBatchOption, DEFAULT_RECONCILE_BATCH)
    .option('--postgres-url <url>', 'measure this PostgreSQL server instead of starting one (the bench creates its own schemas in it)')
    .option('--dir <path>', 'directory for the journal and the embedded ledger; a fresh subdirectory is made in it (default: the OS temporary directory)', parseDirOption)
    .option('--keep', "keep the benchmark's data directory instead of removing it")
    .action(async (opts: { json?: boolean; backend: LedgerKind; entries: number; batch: number; postgresUrl?: string; dir?: string; keep?: boolean }) => {
      const report = await runReconcileBench({
        backend: opts.backend,
        entries: opts.entries,
        batch: opts.batch,
        ...(opts.postgresUrl === undefined ? {} : { postgresUrl: opts.postgresUrl }),
        ...(opts.dir === undefined ? {} : { dir: opts.dir }),
        keep: opts.keep === true,
        progress: progressLine,
      });
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
    });

  bench
    .command('recovery')
    .description('disaster recovery of one box: back up a journal, copy it over TCP, restore it (whole chain verified) and start on it')
    .option('--json', 'print the results as one JSON object on standard output (progress goes to standard error)')
    .option('--entries <n>', 'journal entries, 1000 to 10000000', parseBacklogOption, DEFAULT_BACKLOG)
    .option('--dir <path>', 'directory on the filesystem to measure; a fresh subdirectory is made in it (default: the OS temporary directory)', parseDirOption)
    .option('--keep', "keep the benchmark's data directory instead of removing it")
    .action(async (opts: { json?: boolean; entries: number; dir?: string; keep?: boolean }) => {
      const report = await runRecoveryBench({ entries: opts.entries, ...(opts.dir === undefined ? {} : { dir: opts.dir }), keep: opts.keep === true, progress: progressLine });
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
    });

  bench
    .command('cold-start')
    .description("the repair time of a killed node: exec of node run (one lane, a journal of --entries) to the first decision at the POS, then the idle node's memory, threads and CPU")
    .option('--json', 'print the results as one JSON object on standard output (progress goes to standard error)')
    .option('--entries <n>', 'journal entries, 1000 to 10000000', parseBacklogOption, 1_000_000)
    .option('--dir <path>', 'directory on the filesystem to measure; a fresh subdirectory is made in it (default: the OS temporary directory)', parseDirOption)
    .option('--keep', "keep the benchmark's data directory instead of removing it")
    .action(async (opts: { json?: boolean; entries: number; dir?: string; keep?: boolean }) => {
      const report = await runColdStartBench({ entries: opts.entries, ...(opts.dir === undefined ? {} : { dir: opts.dir }), keep: opts.keep === true, progress: progressLine });
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
    });

  withReplicationOptions(withBenchOptions(bench.command('all')))
    .description('every benchmark: journal, then actors, then lane, then replication')
    .option('--payments <n>', 'measured payments per mode of the lane bench, 1 to 100000', parsePaymentsOption, DEFAULT_PAYMENTS)
    .action(async (opts: BenchCliOptions & LaneCliOptions & ReplicationCliOptions) => {
      const journal: JournalBenchReport = await runJournalBench(benchOptions(opts));
      const actors: ActorsBenchReport = await runActorsBench({ seconds: Math.min(opts.seconds, 2), progress: progressLine });
      const lane: LaneBenchReport = await runLaneBench(laneOptions(opts));
      const replication: ReplicationBenchReport = await runReplicationBench(replicationOptions(opts, Math.min(opts.seconds, DEFAULT_REPLICATION_SECONDS)));
      process.stdout.write(
        opts.json
          ? `${JSON.stringify({ bench: 'all', results: { journal, actors, lane, replication } })}\n`
          : `${formatJournalReport(journal)}\n${JSON.stringify(actors, null, 2)}\n${JSON.stringify(lane, null, 2)}\n${JSON.stringify(replication, null, 2)}\n`,
      );
    });
}

function withBenchOptions(command: Command): Command {
  return command
    .option('--json', 'print the results as one JSON object on standard output (progress goes to standard error)')
    .option('--dir <path>', 'directory on the filesystem to measure; a fresh subdirectory is made in it (default: the OS temp directory)', parseDirOption)
    .option('--keep', "keep the benchmark's data directory instead of removing it")
    .option('--seconds <n>', 'seconds per measured phase, 0.1 to 600', parseSecondsOption, DEFAULT_SECONDS)
    .option('--cards <n>', 'distinct cards in the request pool, 1 to 1000000', parseCardsOption, DEFAULT_CARDS)
    .option('--concurrency <list>', 'pipeline concurrency levels, comma-separated', parseConcurrencyOption, [...DEFAULT_CONCURRENCY]);
}

function withReplicationOptions(command: Command): Command {
  return command
    .option('--broker <kind>', 'broker for the replication bench: aedes (embedded) or mosquitto (a real Mosquitto 2.x, started with the shipped config)', parseBrokerOption, DEFAULT_BROKER)
    .option('--entries <n>', 'entries per node in the replication burst, 10 to 1000000', parseEntriesOption, DEFAULT_ENTRIES);
}

function benchOptions(opts: BenchCliOptions): JournalBenchOptions {
  return {
    ...(opts.dir === undefined ? {} : { dir: opts.dir }),
    keep: opts.keep === true,
    seconds: opts.seconds,
    cards: opts.cards,
    concurrency: opts.concurrency,
    progress: progressLine,
  };
}

function laneOptions(opts: LaneCliOptions): LaneBenchOptions {
  return { ...(opts.dir === undefined ? {} : { dir: opts.dir }), keep: opts.keep === true, payments: opts.payments, progress: progressLine };
}

function replicationOptions(opts: ReplicationCliOptions, seconds: number): ReplicationBenchOptions {
  return {
    ...(opts.dir === undefined ? {} : { dir: opts.dir }),
    keep: opts.keep === true,
    broker: opts.broker,
    seconds,
    entries: opts.entries,
    progress: progressLine,
  };
}
