import type { AvailabilityReport, Percentiles } from './availability.js';

/** The availability tables for people: one row per lane, one per kind of fault, then the whole store. */
export function formatAvailability(report: AvailabilityReport): string[] {
  const lanes = table(
    ['lane', 'requests', 'available', 'availability', 'latency p50/p99'],
    report.lanes.map((l) => [l.lane, String(l.requests), String(l.available), percent(l.availability), ms(l.latency)]),
  );
  const kinds = table(
    ['fault kind', 'faults', 'requests held', 'availability', 'lanes touched', 'MTTR p50/p99', 'after heal p50/p99'],
    report.byKind.map((k) => [
      k.kind,
      String(k.faults),
      String(k.requests),
      percent(k.availability),
      String(k.lanesTouched.length),
      `${ms(k.mttr)}${k.unrecovered === 0 ? '' : ` (${k.unrecovered} unrecovered)`}`,
      ms(k.afterHeal),
    ]),
  );
  return [
    `availability (a decision within ${report.timeoutMs / 1000} s, as the POS saw it):`,
    ...lanes.map((line) => `  ${line}`),
    ...kinds.map((line) => `  ${line}`),
    `  overall: ${report.overall.available} of ${report.overall.requests} requests, ${percent(report.overall.availability)}; ` +
      `with the box powered and its reader in: ${report.overall.withHardware.available} of ${report.overall.withHardware.requests}, ${percent(report.overall.withHardware.availability, 2)}; ` +
      `store (some lane serving): ${report.store.available} of ${report.store.slices} slices of ${report.store.sliceMs} ms, ${percent(report.store.availability)}`,
  ];
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // The first column (names) left-aligned, the figures right-aligned, as a reader compares them.
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function percent(value: number | null, digits = 1): string {
  return value === null ? '-' : `${(value * 100).toFixed(digits)}%`;
}

function ms(value: Percentiles | null): string {
  return value === null ? '-' : `${Math.round(value.p50Ms)}/${Math.round(value.p99Ms)} ms`;
}
