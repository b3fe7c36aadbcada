import type { StoreDemoReport } from './store-demo.js';

function sums(record: Readonly<Record<string, number>>): string {
  return (
    Object.entries(record)
      .map(([currency, minor]) => `${currency} ${(minor / 100).toFixed(2)}`)
      .join(', ') || '-'
  );
}

/** The demo's closing report for a person: per node, both sides; then the exceptions and the verdict. */
export function formatStoreReport(report: StoreDemoReport): string {
  const p = report.payments;
  const lines = [
    '',
    `Whole-store demo, ${report.durationSeconds} s`,
    `  ${report.transport}`,
    `  payments: ${p.online} decided online, ${p.offline} offline; ${p.approved} approved, ${p.declined} declined (${
      Object.entries(p.declinesByCode)
        .map(([c, n]) => `${c}: ${n}`)
        .join(', ') || 'none'
    }), ${p.failed} failed`,
    '',
    'Reconciliation',
  ];
  for (const node of report.nodes) {
    lines.push(`  ${node.node} (${node.fate})`);
    lines.push(`    journal: ${node.journal.entries} entries, ${sums(node.journal.sumsMinor)}`);
    lines.push(
      node.centre === null
        ? '    centre:  holds nothing of it'
        : `    centre:  ${node.centre.entries} entries, ${sums(node.centre.sumsMinor)}; settled ${node.centre.settled}, exceptions ${node.centre.exceptions}, no money moved ${node.centre.recorded}`,
    );
    lines.push(
      `    brought by: ${
        Object.entries(node.broughtBy)
          .map(([sender, n]) => `${sender} (${n})`)
          .join(', ') || 'nobody'
      }`,
    );
    lines.push(`    ${node.matched ? 'matched to the minor unit' : 'DOES NOT MATCH'}`);
  }
  lines.push('', report.exceptions.length === 0 ? 'Exceptions for the operator: none' : 'Exceptions for the operator:');
  for (const e of report.exceptions) lines.push(`  ${e.origin}#${e.seq} ${e.currency} ${(e.amountMinor / 100).toFixed(2)}: ${e.reason}`);
  lines.push('', `Ledger: ${report.ledger.transfers} transfers, ${report.ledger.unbalancedTransfers} unbalanced, ${report.ledger.balanceMismatches} balance mismatches`);
  lines.push(report.matched ? 'Everything matches.' : 'SOMETHING DOES NOT MATCH (exit 1).', '');
  return lines.join('\n');
}
