import type { JournalBenchReport } from './journal-bench.js';
import type { RatioCheck } from './ratios.js';

/** The report for a person at a terminal; --json is the form for scripts and comparisons. */
export function formatJournalReport(report: JournalBenchReport): string {
  const { machine, fsync } = report;
  const lines = [
    `edgepay journal bench: ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, SQLite ${machine.sqlite}, ${machine.filesystem}`,
    `data directory ${report.dataDir.path}${report.dataDir.kept ? ' (kept)' : ''}; ${report.parameters.secondsPerPhase} s per phase`,
    '',
    'disk flush limit',
  ];
  const probes = [
    ['', fsync.limit],
    ['', fsync.sqliteStyle],
    [' (after)', fsync.limitAfter],
  ] as const;
  for (const [when, probe] of probes) {
    lines.push(`  ${(probe.mode + when).padEnd(26)} ${fmt(probe.opsPerSec)} ops/s   p50 ${probe.latency.p50Ms} ms   p99 ${probe.latency.p99Ms} ms`);
  }
  lines.push('raw SQLite inserts (entries schema, WAL, synchronous=FULL)');
  for (const raw of report.rawInserts) {
    lines.push(
      `  ${String(raw.rowsPerTransaction).padStart(3)} row(s)/tx       ${fmt(raw.rowsPerSec)} rows/s   ${fmt(raw.transactionsPerSec)} tx/s   ` +
        `p50 ${raw.transactionLatency.p50Ms} ms   p99 ${raw.transactionLatency.p99Ms} ms`,
    );
  }
  lines.push('authorize + append pipeline (closed loop)');
  for (const run of report.pipeline) {
    lines.push(
      `  concurrency ${String(run.concurrency).padStart(4)}   ${fmt(run.decisionsPerSec)} decisions/s   p50 ${run.latency.p50Ms} ms   ` +
        `p99 ${run.latency.p99Ms} ms   mean batch ${run.batches.meanSize}   approved ${run.approved}/${run.decisions}`,
    );
  }
  lines.push('targets');
  lines.push(ratioLine('pipeline@256 / raw64 throughput', report.ratios.pipeline256VsRaw64Throughput));
  lines.push(ratioLine('pipeline@1 p99 / fsync p99', report.ratios.pipeline1P99VsFsyncP99));
  const drift = report.ratios.fsyncDrift;
  if (drift.stable === false) {
    lines.push(`  WARNING: fsync p99 moved by a factor ${drift.p99AfterVsBefore} during the run (stable: ${drift.stableRange}); the disk changed speed, compare with care`);
  }
  return `${lines.join('\n')}\n`;
}

function ratioLine(label: string, check: RatioCheck): string {
  const verdict = check.meetsTarget === null ? 'not measured' : check.meetsTarget ? 'meets target' : 'MISSES target';
  return `  ${label.padEnd(34)} ${check.value ?? '-'} (target ${check.target}): ${verdict}`;
}

function fmt(rate: number): string {
  return Math.round(rate).toLocaleString('en-US').padStart(9);
}
