import { describe, expect, it } from 'vitest';
import { runChaos } from '../src/chaos/chaos.js';
import { FAULT_KINDS } from '../src/chaos/faults.js';

/*
 * The short round CI runs: a real store (Mosquitto, PostgreSQL, three node processes on socat
 * ptys) under POS load while every kind of fault hits it at least once, then healed and checked.
 * Longer rounds: npm run chaos -- --minutes N.
 */
describe('chaos: a short round on a real store', () => {
  it('meets every kind of fault and keeps every promise it checks', { timeout: 300_000 }, async () => {
    const progress: string[] = [];
    const report = await runChaos({ minutes: 0.75, seed: 7, progress: (line) => progress.push(line) });

    expect(report.violations, `${report.violations.join('\n')}\n${progress.join('\n')}`).toEqual([]);
    expect(report.ok).toBe(true);
    for (const kind of FAULT_KINDS) {
      if (report.faults.unavailable[kind] !== undefined) continue;
      expect(report.faults.byKind[kind], `${kind} was never injected: ${JSON.stringify(report.faults.byKind)}`).toBeGreaterThanOrEqual(1);
    }
    expect(report.faults.log.every((f) => f.healError === null)).toBe(true);
    expect(report.payments.payments).toBeGreaterThan(50);
    expect(report.payments.approved).toBeGreaterThan(0);
    expect(report.payments.unknown).toBe(0);
    // Faults cost answers: some payments needed the POS to ask again, and all were answered.
    expect(report.payments.retried).toBeGreaterThan(0);
    expect(report.checks.length).toBeGreaterThanOrEqual(10);
    expect(report.checks.every((c) => c.ok)).toBe(true);
  });
});
