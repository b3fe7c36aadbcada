import type { OriginReport } from './ledger-backend.js';

/** The per-origin report query, shared by both backends (plain SQL both dialects accept); `where` narrows it to one origin. */
const originTotalsSql = (where: string): string => `
  SELECT e.origin AS origin, e.store AS store, e.currency AS currency,
         count(*) AS entries,
         sum(CASE WHEN e.result = 'settled' THEN 1 ELSE 0 END) AS settled,
         sum(CASE WHEN e.result = 'exception' THEN 1 ELSE 0 END) AS exceptions,
         sum(CASE WHEN e.result = 'recorded' THEN 1 ELSE 0 END) AS recorded,
         sum(e.amount_minor) AS sum_minor,
         sum(e.merchant_minor) AS merchant_minor,
         max(h.seq) AS head_seq
  FROM ledger_entries e JOIN ledger_heads h ON h.origin = e.origin
  ${where}
  GROUP BY e.origin, e.store, e.currency
  ORDER BY e.origin, e.currency`;

/**
 * Folds the per-currency rows into one report per origin. With `originPlaceholder` (the dialect's
 * `?` or `$1`, bound by `query` to one origin) only that origin is read: a node asking for its own
 * report over MQTT must not cost a scan of the whole fleet's ledger.
 */
export async function readOriginReports(query: (sql: string) => Record<string, unknown>[] | Promise<Record<string, unknown>[]>, originPlaceholder?: string): Promise<OriginReport[]> {
  const byOrigin = new Map<string, { -readonly [K in keyof OriginReport]: OriginReport[K] } & { sumsMinor: Record<string, number>; merchantMinor: Record<string, number> }>();
  for (const row of await query(originTotalsSql(originPlaceholder === undefined ? '' : `WHERE e.origin = ${originPlaceholder}`))) {
    const origin = String(row.origin);
    let report = byOrigin.get(origin);
    if (report === undefined) {
      report = { origin, store: String(row.store), headSeq: Number(row.head_seq), entries: 0, settled: 0, exceptions: 0, recorded: 0, sumsMinor: {}, merchantMinor: {} };
      byOrigin.set(origin, report);
    }
    report.entries += Number(row.entries);
    report.settled += Number(row.settled);
    report.exceptions += Number(row.exceptions);
    report.recorded += Number(row.recorded);
    report.sumsMinor[String(row.currency)] = Number(row.sum_minor);
    report.merchantMinor[String(row.currency)] = Number(row.merchant_minor);
  }
  return [...byOrigin.values()];
}
