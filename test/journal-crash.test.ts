import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CrashTrialResult, runCrashTrial } from '../src/rigs/crash/crash-trial.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-crash-');

/** The child runs compiled, as a real node would; `npm test` builds dist/ first. */
const CHILD = resolve(import.meta.dirname, '../dist/rigs/crash/crash-child.js');
const TRIALS = 32;
/** Trials continuing the previous journal come in chains of at most this many. */
const MAX_CHAIN = 6;

describe('kill -9 while authorizing (P1)', () => {
  it(`every acknowledged decision survives SIGKILL, over ${TRIALS} trials`, async () => {
    if (!existsSync(CHILD)) {
      throw new Error(`${CHILD} is missing: build first with \`npm run build\` (the crash test spawns the compiled child)`);
    }
    // A fresh seed each run widens coverage; it is in every failure message, so a failure can be replayed.
    const runSeed = Number(process.env.EDGEPAY_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const results: CrashTrialResult[] = [];
    let chainDir = tempDir();
    let chainLength = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      // Every other trial restarts on the journal the previous kill left behind, like a node rebooting.
      const reuse = trial % 2 === 1 && chainLength < MAX_CHAIN;
      if (!reuse && trial > 0) {
        chainDir = tempDir();
        chainLength = 0;
      }
      const seed = (runSeed + trial * 7919) % 2 ** 31;
      const result = await runCrashTrial({ dir: chainDir, seed, killAfterMsMin: 50, killAfterMsMax: 400, childScript: CHILD, reuseJournal: reuse });
      chainLength++;
      expect(result.problems, `trial ${trial} (EDGEPAY_CRASH_SEED=${runSeed}, trial seed ${seed}) in ${result.journalPath}`).toEqual([]);
      expect(result.ok).toBe(true);
      expect(result.child.signal).toBe('SIGKILL');
      expect(result.entriesAfterReopen).toBeGreaterThanOrEqual(result.entriesBefore + result.acked);
      results.push(result);
    }

    const acked = results.reduce((sum, r) => sum + r.acked, 0);
    const approved = results.reduce((sum, r) => sum + r.ackedApproved, 0);
    expect(acked).toBeGreaterThan(0);
    // The child's card pool and amounts produce both outcomes; a run of only one would test less.
    expect(approved).toBeGreaterThan(0);
    expect(approved).toBeLessThan(acked);
    // Most trials must have been killed mid-load, not before the first decision.
    expect(results.filter((r) => r.acked > 0).length).toBeGreaterThanOrEqual(TRIALS * 0.8);
    const continued = results.filter((r) => r.entriesBefore > 0);
    expect(continued.length).toBeGreaterThanOrEqual(TRIALS / 4);
    expect(continued.every((r) => r.entriesAfterReopen >= r.entriesBefore)).toBe(true);
  });
});
