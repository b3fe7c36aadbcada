import { describe, expect, it } from 'vitest';
import type { StoreDemoReport } from '../src/demo/store/store-demo.js';
import { runCli } from './support/cli.js';

describe.each(['pty', 'unix'] as const)('the whole-store demo, readers on %s', (transport) => {
  it('three node processes, an outage, a box killed and taken into custody, a stolen card: everything reconciles', () => {
    const result = runCli(['demo-store', '--json', '--seed', '3', '--transport', transport], 150_000);
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as StoreDemoReport;
    expect(report.matched).toBe(true);
    expect(report.durationSeconds).toBeLessThan(120);
    expect(report.payments.online).toBeGreaterThan(0);
    expect(report.payments.offline).toBeGreaterThan(0);
    expect(report.payments.failed).toBe(0);
    // Declined by the offline rules: the hot-listed card (05), an expired one (54), a mistyped number (14).
    expect(Object.keys(report.payments.declinesByCode)).toEqual(expect.arrayContaining(['05', '54', '14']));
    for (const node of report.nodes) {
      expect(node.matched).toBe(true);
      expect(node.centre?.entries).toBe(node.journal.entries);
    }
    // The dead box's entries reached the centre through a peer.
    const box3 = report.nodes.find((n) => n.node === 'box-3')!;
    expect(Object.keys(box3.broughtBy).some((sender) => sender !== 'box-3')).toBe(true);
    expect(report.exceptions).toEqual([expect.objectContaining({ origin: 'box-1', reason: 'hot_listed' })]);
    expect(report.ledger).toMatchObject({ unbalancedTransfers: 0, balanceMismatches: 0 });
    expect(result.stderr).toContain('box-3 is killed (SIGKILL)');
    expect(report.transport).toContain(transport === 'pty' ? 'socat pty pairs' : 'Unix sockets');
  }, 180_000);
});
