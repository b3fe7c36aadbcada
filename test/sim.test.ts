import { describe, expect, it } from 'vitest';
import { SIM_FAULTS, runSimulation } from '../src/sim/simulation.js';
import { runCli } from './support/cli.js';

/*
 * The deterministic simulation in CI: a bounded number of seeds, each a store trading for 30
 * simulated seconds under seeded faults, each required to keep every promise it checks (the tests
 * run in order: the fault coverage is read from those seeds). Longer: npm run sim -- --seeds 10000.
 */
const SEEDS = Array.from({ length: 16 }, (_, i) => i + 1);
const faultsSeen = new Set<string>();
const doubledSeen = { joined: 0, refused: 0 };
let secureLanesSeen = 0;

describe('deterministic store simulation', () => {
  it.each(SEEDS)('seed %i keeps every promise', { timeout: 60_000 }, async (seed) => {
    const report = await runSimulation({ seed, durationMs: 30_000 });
    for (const kind of Object.keys(report.faults)) faultsSeen.add(kind);
    doubledSeen.joined += report.doubled.joined;
    doubledSeen.refused += report.doubled.refused;
    expect(report.violations, `replay: npm run sim -- --seed ${seed} --seconds 30`).toEqual([]);
    expect(report.payments.unknown).toBe(0);
    expect(report.payments.approved).toBeGreaterThan(0);
    expect(report.checks.length).toBeGreaterThanOrEqual(15);
    // Two lanes per box, each with its own reader.
    expect(report.readers.lanes).toBe(6);
    expect(report.readers.resultsDisplayed).toBeLessThanOrEqual(report.readers.resultsShown);
    // Cards were read at the lanes, so finding none at rest means something.
    expect(report.readers.cardNumbersRead).toBeGreaterThan(0);
    // Secure lanes' cards come tokenized and sealed by the reader: only the 1.0 lanes' cards are captured on the node.
    secureLanesSeen += report.readers.secureLanes;
    if (report.readers.secureLanes === report.readers.lanes) expect(report.readers.capturedOnNode).toBe(0);
    if (report.readers.secureLanes > 0) expect(report.readers.capturedOnNode).toBeLessThan(report.readers.payments);
  });

  it('replays a seed exactly: the same events, faults, deliveries and outcomes', { timeout: 60_000 }, async () => {
    const first = await runSimulation({ seed: 42, durationMs: 15_000 });
    const again = await runSimulation({ seed: 42, durationMs: 15_000 });
    expect(again).toEqual(first);
    const other = await runSimulation({ seed: 43, durationMs: 15_000 });
    expect(other.events === first.events && JSON.stringify(other.faults) === JSON.stringify(first.faults)).toBe(false);
  });

  it('ran lanes with secure readers and lanes with 1.0 readers across the CI seeds above', () => {
    expect(secureLanesSeen).toBeGreaterThan(0);
    expect(secureLanesSeen).toBeLessThan(SEEDS.length * 6);
  });

  it('met every kind of fault across the CI seeds above', () => {
    expect([...faultsSeen].sort()).toEqual([...SIM_FAULTS].sort());
  });

  it('sent sales again under their keys from the other till across the CI seeds: some joined, some refused', () => {
    expect(doubledSeen.joined).toBeGreaterThan(0);
    expect(doubledSeen.refused).toBeGreaterThan(0);
  });

  it('runs from the command line: a line per seed, exit 0; bad options named with what is allowed, exit 2', () => {
    const ok = runCli(['sim', '--seed', '3', '--seeds', '2', '--seconds', '5']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^seed 3: ok — \d+ events/m);
    expect(ok.stdout).toMatch(/^seed 4: ok/m);
    expect(ok.stdout).toContain('2 of 2 seeds kept every promise');
    // The long mode, shortened: seeds one after the other until the minutes are up.
    const long = runCli(['sim', '--seed', '7', '--minutes', '0.1', '--seconds', '2']);
    expect(long.status).toBe(0);
    expect(long.stdout).toMatch(/^seed 7: ok/m);
    expect(long.stdout).toMatch(/^seed 8: ok/m);
    expect(long.stdout).toMatch(/(\d+) of \1 seeds kept every promise/);
    expect(runCli(['sim', '--minutes', '0']).stderr).toContain('--minutes: "0" is not allowed; use a number of minutes from 0.1 to');
    const bad = runCli(['sim', '--seeds', '0']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--seeds: "0" is not allowed; use a whole number from 1 to');
    const chaos = runCli(['chaos', '--minutes', 'soon']);
    expect(chaos.status).toBe(2);
    expect(chaos.stderr).toContain('--minutes: "soon" is not allowed; use a number of minutes from 0.1 to 1440');
  });
});
