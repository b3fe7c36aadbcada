import { readdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runColdStartBench } from '../src/bench/cold-start-bench.js';

/*
 * The cold-start bench's shape and honesty, not its speed (a loaded CI box is no place for a
 * timing target): a real `node run` on a real pty lane decides a payment after exec, never before
 * the floors measured in the same run, and the idle footprint is read off the process itself.
 */
describe('bench cold-start: exec of node run → the first decision at the POS → the idle node', () => {
  it('times exec to the first decision against its floors and reads memory, threads and CPU of the running node', async () => {
    const before = new Set(readdirSync(tmpdir()));
    const progress: string[] = [];
    const report = await runColdStartBench({ entries: 2_000, settleMs: 2_500, idleSampleMs: 500, progress: (line) => progress.push(line) });

    expect(report).toMatchObject({ bench: 'cold-start', entries: 2_000, firstDecision: 'approved Y3' });
    expect(report.journalBytes).toBeGreaterThan(2_000 * 100);
    // Nothing can answer before Node itself has started, nor decide before the API answers.
    expect(report.floor.nodeExitMs).toBeGreaterThan(0);
    expect(report.floor.cliVersionMs).toBeGreaterThan(report.floor.nodeExitMs);
    expect(report.apiUpMs).toBeGreaterThan(report.floor.nodeExitMs);
    expect(report.firstDecisionMs).toBeGreaterThanOrEqual(report.apiUpMs);
    // The start's CPU: some, and no more than every core of the machine for the whole start (plus a clock tick).
    expect(report.startCpuMs).toBeGreaterThan(0);
    expect(report.startCpuMs).toBeLessThanOrEqual(report.firstDecisionMs * availableParallelism() + 10);
    // The footprint of a live process: more than the main thread, memory within its own peak.
    expect(report.idle.threads).toBeGreaterThan(1);
    expect(Object.values(report.idle.threadNames).reduce((a, b) => a + b, 0)).toBeGreaterThan(1);
    expect(report.idle.rssMiB).toBeGreaterThan(20);
    expect(report.idle.peakRssMiB).toBeGreaterThanOrEqual(report.idle.rssMiB);
    expect(report.idle.cpuPercentOfCore).toBeGreaterThanOrEqual(0);
    expect(report.settleCpuPercentOfCore).toBeGreaterThanOrEqual(0);
    // Every thread of ours carries its name (Node's own stay "node"), and CPU is told per name. No
    // card-capture thread: a lane with its own reader never needs the intake actor's pool (app/actors/intake.ts).
    expect(report.idle.threadNames).toMatchObject({ 'edgepay-node': 1, 'journal-writer': 1, intake: 1, 'reader:lane-1': 1 });
    expect(report.idle.threadNames['card-capture']).toBeUndefined();
    expect(Object.keys(report.idle.cpuPercentByThread)).toEqual(Object.keys(report.idle.threadNames));
    expect(progress.some((line) => line.includes('first decision after'))).toBe(true);
    // The bench's own directory is gone.
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith('edgepay-bench-') && !before.has(name))).toEqual([]);
  }, 120_000);
});
