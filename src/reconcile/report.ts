import type { OriginReport } from '../central/ledger-backend.js';
import { displayAmount } from '../money/index.js';
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
  /** Whether the centre was asked and answered; when not, why (its side is then unknown, never "matched"). */
  readonly centreReached: boolean;
  readonly centreUnavailable: string | null;
  /** How the centre's side was read: 'embedded ledger', 'over MQTT', 'through the running node (pid N)'. */
  readonly centreVia: string;
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
 * What the centre's side came to: its report of this node (undefined: it holds nothing of it), or
 * why it could not be asked. A centre not asked leaves its side unknown: the report says so and
 * is not matched, whatever the journal's own records say.
 */
export type CentreSide =
  | { readonly reached: true; readonly via: string; readonly report: OriginReport | undefined; readonly entriesCompared: boolean }
  | { readonly reached: false; readonly via: string; readonly why: string };

export function reconciliationReport(node: string, journal: JournalTotals, side: CentreSide, nowMs: number, findings: EntryFindings): ReconciliationReport {
  const differences: string[] = [];
  const centre = side.reached ? side.report : undefined;
  if (side.reached) compareWithCentre(journal, centre ?? { entries: 0, sumsMinor: {} }, differences);
  else differences.push(`the centre's side is unknown: ${side.why}`);
  if (journal.unforwarded > 0) differences.push(`${journal.unforwarded} entries not forwarded yet`);
  if (findings.differingEntries.count > 0 && side.reached && side.entriesCompared) differences.push(`${findings.differingEntries.count} entries differ (listed below)`);
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
    centre: centre === undefined ? null : { entries: centre.entries, sumsMinor: centre.sumsMinor, settled: centre.settled, exceptions: centre.exceptions, recorded: centre.recorded, merchantMinor: centre.merchantMinor },
    centreReached: side.reached,
    centreUnavailable: side.reached ? null : side.why,
    centreVia: side.via,
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
    if (mine !== theirs) differences.push(`${currency}: journal ${money(mine, currency)}, centre ${money(theirs, currency)} (difference ${money(mine - theirs, currency)})`);
  }
}

/** "EUR 12.50", "JPY 1,500", with the currency's exponent; a code the table lacks keeps its minor units, said so. */
const money = displayAmount;

/** Per-currency amounts as money, sorted by currency. */
function sums(byCurrency: Readonly<Record<string, number>>): string {
  return (
    Object.keys(byCurrency)
      .sort()
      .map((c) => money(byCurrency[c]!, c))
      .join(', ') || '-'
  );
}

/** Counts by name (the centre's answers: settled, exception, recorded). */
function counts(byName: Readonly<Record<string, number>>): string {
  return (
    Object.entries(byName)
      .map(([name, count]) => `${name} ${count}`)
      .join(', ') || '-'
  );
}

export function formatReport(report: ReconciliationReport): string {
  const lines = [
    `node ${report.node}`,
    `  journal: ${report.journal.entries} entries (${sums(report.journal.sumsMinor)}); not forwarded: ${report.journal.unforwarded}` +
      (report.journal.oldestUnforwardedAgeSeconds === null ? '' : `, oldest ${report.journal.oldestUnforwardedAgeSeconds} s`) +
      `; the centre's answers: ${counts(report.journal.outcomes)}`,
    !report.centreReached
      ? `  centre:  NOT REACHED (${report.centreVia}): ${report.centreUnavailable}`
      : report.centre === null
        ? `  centre:  holds nothing of this node (${report.centreVia})`
        : `  centre:  ${report.centre.entries} entries (${sums(report.centre.sumsMinor)}); settled ${report.centre.settled}, exceptions ${report.centre.exceptions}, no money moved ${report.centre.recorded}; merchant credited ${sums(report.centre.merchantMinor)} (${report.centreVia})`,
    ...(report.matched ? ['  matched to the minor unit'] : report.differences.map((d) => `  DIFFERS: ${d}`)),
    ...report.differingEntries.listed.map(
      (d) => `    entry ${d.seq}${d.idempotencyKey === null ? '' : ` (${d.idempotencyKey}${d.amountMinor === null || d.currency === null ? '' : `, ${money(d.amountMinor, d.currency)}`})`}: ${d.why}`,
    ),
    ...(report.differingEntries.count > report.differingEntries.listed.length ? [`    … and ${report.differingEntries.count - report.differingEntries.listed.length} more`] : []),
    ...report.exceptions.map((e) => `  exception: entry ${e.seq} (${e.idempotencyKey}, ${money(e.amountMinor, e.currency)}): ${e.reason ?? 'refused by the centre'}`),
  ];
  return `${lines.join('\n')}\n`;
}
