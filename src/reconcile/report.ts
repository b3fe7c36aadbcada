import type { OriginReport } from '../central/ledger-backend.js';
import type { EntryBrief, JournalTotals } from '../journal/journal-reader.js';
import type { EntryDifference } from './entry-differences.js';

/** One node's reconciliation: its journal beside what the centre holds of it, and every difference. */
export interface ReconciliationReport {
  readonly node: string;
  readonly journal: {
    readonly entries: number;
    readonly sumsMinor: Readonly<Record<string, number>>;
    readonly unforwarded: number;
    readonly unforwardedSumsMinor: Readonly<Record<string, number>>;
    readonly oldestUnforwardedAgeSeconds: number | null;
    readonly outcomes: Readonly<Record<string, number>>;
  };
  readonly centre: {
    readonly entries: number;
    readonly sumsMinor: Readonly<Record<string, number>>;
    readonly settled: number;
    readonly exceptions: number;
    readonly recorded: number;
    readonly merchantMinor: Readonly<Record<string, number>>;
  } | null;
  /** Human lines, one per difference; empty when the centre holds the whole journal, to the minor unit. */
  readonly differences: readonly string[];
  /** Every entry on which the two sides disagree (the first ones listed, all counted). */
  readonly differingEntries: { readonly count: number; readonly listed: readonly EntryDifference[] };
  /** Offline approvals the centre refused after the fact, as it answered: for the operator, not differences. */
  readonly exceptions: readonly EntryBrief[];
  readonly matched: boolean;
}

export interface EntryFindings {
  readonly differingEntries: { readonly count: number; readonly listed: readonly EntryDifference[] };
  readonly exceptions: readonly EntryBrief[];
}

/**
 * `centreReadable` is false when the centre is only reachable over MQTT: then its side is what it
 * answered per entry (recorded in the journal), and only the backlog can differ.
 */
export function reconciliationReport(
  node: string,
  journal: JournalTotals,
  centre: OriginReport | undefined,
  nowMs: number,
  centreReadable: boolean,
  findings: EntryFindings,
): ReconciliationReport {
  const differences: string[] = [];
  const held: Pick<OriginReport, 'entries' | 'sumsMinor'> = centre ?? { entries: 0, sumsMinor: {} };
  if (centreReadable) compareWithCentre(journal, held, differences);
  if (journal.unforwarded > 0) differences.push(`${journal.unforwarded} entries not forwarded yet`);
  if (findings.differingEntries.count > 0 && centreReadable) differences.push(`${findings.differingEntries.count} entries differ (listed below)`);
  return {
    node,
    journal: {
      entries: journal.entries,
      sumsMinor: journal.sumsMinor,
      unforwarded: journal.unforwarded,
      unforwardedSumsMinor: journal.unforwardedSumsMinor,
      oldestUnforwardedAgeSeconds: journal.oldestUnforwardedWallMs === null ? null : Math.max(0, Math.round((nowMs - journal.oldestUnforwardedWallMs) / 1000)),
      outcomes: journal.outcomes,
    },
    centre:
      centre === undefined
        ? null
        : { entries: centre.entries, sumsMinor: centre.sumsMinor, settled: centre.settled, exceptions: centre.exceptions, recorded: centre.recorded, merchantMinor: centre.merchantMinor },
    differences,
    differingEntries: findings.differingEntries,
    exceptions: findings.exceptions,
    matched: differences.length === 0,
  };
}

function compareWithCentre(journal: JournalTotals, held: Pick<OriginReport, 'entries' | 'sumsMinor'>, differences: string[]): void {
  if (held.entries !== journal.entries) differences.push(`entries: journal ${journal.entries}, centre ${held.entries}`);
  const currencies = new Set([...Object.keys(journal.sumsMinor), ...Object.keys(held.sumsMinor)]);
  for (const currency of [...currencies].sort()) {
    const mine = journal.sumsMinor[currency] ?? 0;
    const theirs = held.sumsMinor[currency] ?? 0;
    if (mine !== theirs) differences.push(`${currency}: journal ${mine} minor units, centre ${theirs} (difference ${mine - theirs})`);
  }
}

export function formatReport(report: ReconciliationReport): string {
  const sums = (r: Readonly<Record<string, number>>): string => Object.entries(r).map(([c, v]) => `${c} ${v}`).join(', ') || '-';
  const lines = [
    `node ${report.node}`,
    `  journal: ${report.journal.entries} entries (${sums(report.journal.sumsMinor)}); not forwarded: ${report.journal.unforwarded}` +
      (report.journal.oldestUnforwardedAgeSeconds === null ? '' : `, oldest ${report.journal.oldestUnforwardedAgeSeconds} s`) +
      `; the centre's answers: ${sums(report.journal.outcomes)}`,
    report.centre === null
      ? '  centre:  no report of its own here (nothing held, or reached over MQTT)'
      : `  centre:  ${report.centre.entries} entries (${sums(report.centre.sumsMinor)}); settled ${report.centre.settled}, exceptions ${report.centre.exceptions}, no money moved ${report.centre.recorded}; merchant credited ${sums(report.centre.merchantMinor)}`,
    ...(report.matched ? ['  matched to the minor unit'] : report.differences.map((d) => `  DIFFERS: ${d}`)),
    ...report.differingEntries.listed.map((d) => `    entry ${d.seq}${d.idempotencyKey === null ? '' : ` (${d.idempotencyKey}, ${d.currency} ${d.amountMinor})`}: ${d.why}`),
    ...(report.differingEntries.count > report.differingEntries.listed.length ? [`    … and ${report.differingEntries.count - report.differingEntries.listed.length} more`] : []),
    ...report.exceptions.map((e) => `  exception: entry ${e.seq} (${e.idempotencyKey}, ${e.currency} ${e.amountMinor}): ${e.reason ?? 'refused by the centre'}`),
  ];
  return `${lines.join('\n')}\n`;
}
