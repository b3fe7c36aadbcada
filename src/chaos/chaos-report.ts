import type { ChaosReport } from './chaos.js';
import { formatAvailability } from './availability-text.js';

/** The report for people: faults by kind, the POS's payments and availability, every check with its figures, violations. */
export function formatChaosReport(report: ChaosReport): string {
  const lines = [
    `chaos: ${report.minutes} min, seed ${report.seed}${report.faultEverySeconds === null ? '' : `, a fault every ${report.faultEverySeconds} s`}, ${report.durationSeconds} s in all`,
    `faults injected: ${report.faults.injected} (${
      Object.entries(report.faults.byKind)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    })`,
    ...Object.entries(report.faults.unavailable).map(([kind, why]) => `  left out on this machine: ${kind} (${why})`),
    `payments: ${report.payments.payments} (${report.payments.approved} approved, ${report.payments.declined} declined, ${report.payments.failed} failed, ${report.payments.unknown} unknown; ${report.payments.retried} needed a second request)`,
    ...formatAvailability(report.availability),
    'checks:',
    ...report.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}`),
    report.ok ? 'no violations' : `violations (${report.violations.length}):`,
    ...report.violations.map((v) => `  - ${v}`),
    `replay: npm run chaos -- --minutes ${report.minutes} --seed ${report.seed}${report.faultEverySeconds === null ? '' : ` --fault-every ${report.faultEverySeconds}`}`,
  ];
  return `${lines.join('\n')}\n`;
}
