import { dirname } from 'node:path';
import { findCardNumbers } from '../audit/card-data-check.js';
import { formatMinor, isCurrencyCode } from '../money/currency.js';
import type { TradingDayOptions, TradingDayResult } from './trading-day.js';

interface Row {
  rule: string;
  code: string;
  count: number;
  totals: Map<string, number>;
}

/** Plain-text summary for a person: what was decided, by which rule, and what is on disk. */
export function summarize(options: TradingDayOptions, result: TradingDayResult): string {
  const payments = result.records.filter((r) => r.kind === 'payment');
  const rows = new Map<string, Row>();
  for (const { outcome } of payments) {
    const key = `${outcome.decision.rule}/${outcome.decision.code}`;
    const row = rows.get(key) ?? { rule: outcome.decision.rule, code: outcome.decision.code, count: 0, totals: new Map() };
    row.count++;
    const entry = outcome.entry;
    if (entry) row.totals.set(entry.currency, (row.totals.get(entry.currency) ?? 0) + entry.amountMinor);
    rows.set(key, row);
  }
  const sorted = [...rows.values()].sort((a, b) => (a.rule === 'approved' ? -1 : b.rule === 'approved' ? 1 : b.count - a.count));
  const retries = result.records.filter((r) => r.kind === 'retry');
  const retriesSame = retries.filter((r) => r.outcome.replayed).length;
  const followUps = result.records.filter((r) => r.kind === 'void' || r.kind === 'refund');
  const open = new Date(options.openWallMs).toISOString();
  const lines = [
    '',
    `edgepay demo: one offline trading day for node ${result.nodeId}`,
    `  ${open.slice(0, 10)} ${open.slice(11, 16)} UTC, ${options.hours} h, ${options.lanes} lanes, seed ${options.seed}`,
    `  the link to the centre fails after ${options.linkDownAfterHours} h; from then on nothing is forwarded`,
    '',
    `Payments: ${payments.length} decided, every one recorded in the journal before its answer`,
    `  ${'rule'.padEnd(18)}${'code'.padEnd(6)}${'count'.padStart(6)}   amount`,
    ...sorted.map((r) => `  ${r.rule.padEnd(18)}${r.code.padEnd(6)}${String(r.count).padStart(6)}   ${formatTotals(r.totals)}`),
    '',
    `POS retries: ${retries.length}, answered from the journal with the original decision: ${retriesSame}`,
    `Voids and refunds: ${followUps.length} (${followUps.filter((r) => r.outcome.decision.approved).length} approved)`,
    ...sampleReasons(result),
    '',
    'Journal',
    `  ${result.journalPath}`,
    `  ${result.verify.headSeq} entries, head ${result.verify.headHash.slice(0, 16)}…`,
    `  chain ${result.verify.ok ? 'verified' : `BROKEN at ${result.verify.problem?.seq}`} in ${result.verifyMs.toFixed(1)} ms; ${result.forwardedCount} entries were forwarded before the link failed`,
    `  full card numbers found on disk: ${countPansOnDisk(result)} (cards are kept as token + last 4, sealed for the centre)`,
    `  try: edgepay journal verify --db ${result.journalPath}`,
    '',
    `Ran in ${(result.elapsedMs / 1000).toFixed(1)} s.`,
    '',
  ];
  return lines.join('\n');
}

function formatTotals(totals: Map<string, number>): string {
  return [...totals.entries()].map(([currency, minor]) => (isCurrencyCode(currency) ? formatMinor(minor, currency) : `${minor} ${currency}`)).join(', ');
}

/** One reason per declining rule, so a reader sees the words a cashier would see. */
function sampleReasons(result: TradingDayResult): string[] {
  const seen = new Set<string>();
  const out = ['', 'A reason for each rule that declined:'];
  for (const { outcome } of result.records) {
    const { rule, approved, reason } = outcome.decision;
    if (approved || seen.has(rule)) continue;
    seen.add(rule);
    out.push(`  ${rule}: ${reason}`);
  }
  return out;
}

/** Proof of promise P7 on this run's own files: every byte of its directory searched for every card number used. */
function countPansOnDisk(result: TradingDayResult): number {
  return new Set(findCardNumbers([dirname(result.journalPath)], new Set(result.pans)).found.map((f) => f.pan)).size;
}
