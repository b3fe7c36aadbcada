#!/usr/bin/env node
/**
 * The long kill -9 run for P1: `node dist/rigs/crash/crash-run.js --trials 1000 [--seed N] [--dir D]`.
 * Trials run one after another; about half continue the previous trial's journal, so restarts on a
 * growing chain are covered too. Exits 1 if any trial found an acknowledged decision missing or a
 * broken chain, 2 on bad usage.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { SeededRandom } from '../../platform/random.js';
import { type CrashTrialResult, runCrashTrial } from './crash-trial.js';

interface RunOptions {
  readonly trials: number;
  readonly seed: number | undefined;
  readonly dir: string | undefined;
  readonly killMinMs: number;
  readonly killMaxMs: number;
  readonly concurrency: number;
  readonly maxChain: number;
  readonly keep: boolean;
}

const PROGRESS_EVERY = 50;

function integer(min: number, max: number, what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

function parseArgs(argv: readonly string[]): RunOptions {
  const program = new Command()
    .name('crash-run')
    .description('SIGKILL an authorizing child again and again; check every acknowledged decision survives (P1)')
    .option('--trials <n>', 'number of trials', integer(1, 1_000_000, '--trials'), 1000)
    .option('--seed <n>', 'seed for kill timing and requests (random if omitted; printed in the summary)', integer(0, 2 ** 31 - 1, '--seed'))
    .option('--dir <path>', 'directory for the journals (a new temporary directory if omitted)')
    .option('--kill-min-ms <n>', 'earliest kill after the child is ready', integer(0, 600_000, '--kill-min-ms'), 20)
    .option('--kill-max-ms <n>', 'latest kill after the child is ready', integer(1, 600_000, '--kill-max-ms'), 400)
    .option('--concurrency <n>', 'concurrent request loops in the child', integer(1, 4096, '--concurrency'), 32)
    .option('--max-chain <n>', 'most trials continuing one journal before a fresh one is started', integer(1, 1_000_000, '--max-chain'), 20)
    .option('--keep', 'keep the journals of passing trials (failing ones are always kept)')
    .exitOverride()
    .showHelpAfterError();
  program.parse([...argv], { from: 'user' });
  const opts = program.opts<{
    trials: number;
    seed?: number;
    dir?: string;
    killMinMs: number;
    killMaxMs: number;
    concurrency: number;
    maxChain: number;
    keep?: boolean;
  }>();
  if (opts.killMinMs > opts.killMaxMs) {
    program.error(`error: --kill-min-ms (${opts.killMinMs}) must not exceed --kill-max-ms (${opts.killMaxMs})`, { exitCode: 2 });
  }
  return {
    trials: opts.trials,
    seed: opts.seed,
    dir: opts.dir,
    killMinMs: opts.killMinMs,
    killMaxMs: opts.killMaxMs,
    concurrency: opts.concurrency,
    maxChain: opts.maxChain,
    keep: opts.keep === true,
  };
}

async function run(options: RunOptions): Promise<boolean> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = new SeededRandom(seed);
  const root = options.dir !== undefined ? resolve(options.dir) : mkdtempSync(join(tmpdir(), 'edgepay-crash-'));
  mkdirSync(root, { recursive: true });
  const started = performance.now();
  const failures: Array<{ trial: number; dir: string; seed: number; problems: readonly string[] }> = [];
  let acked = 0;
  let ackedApproved = 0;
  let unacknowledgedDurable = 0;
  let continued = 0;
  let longestChain = 0;
  let largestJournal = 0;
  let chainDir: string | undefined;
  let chainLength = 0;
  const killModes = { timer: 0, 'after-acks': 0 };

  for (let trial = 1; trial <= options.trials; trial++) {
    const reuse = chainDir !== undefined && chainLength < options.maxChain && random.int(2) === 0;
    if (!reuse) {
      if (chainDir !== undefined && !options.keep && !failures.some((f) => f.dir === chainDir)) rmSync(chainDir, { recursive: true, force: true });
      chainDir = join(root, `chain-${String(trial).padStart(6, '0')}`);
      chainLength = 0;
    }
    const dir = chainDir as string;
    const trialSeed = random.int(2 ** 31 - 1);
    let result: CrashTrialResult;
    try {
      result = await runCrashTrial({
        dir,
        seed: trialSeed,
        killAfterMsMin: options.killMinMs,
        killAfterMsMax: options.killMaxMs,
        concurrency: options.concurrency,
        reuseJournal: reuse,
      });
    } catch (error) {
      failures.push({ trial, dir, seed: trialSeed, problems: [`the trial could not run: ${(error as Error).message ?? String(error)}`] });
      break;
    }
    chainLength++;
    if (reuse) continued++;
    longestChain = Math.max(longestChain, chainLength);
    largestJournal = Math.max(largestJournal, result.entriesAfterReopen);
    acked += result.acked;
    ackedApproved += result.ackedApproved;
    unacknowledgedDurable += result.unacknowledgedDurable;
    killModes[result.killMode]++;
    if (!result.ok) {
      failures.push({ trial, dir, seed: trialSeed, problems: result.problems });
      process.stderr.write(`trial ${trial} FAILED (seed ${trialSeed}, journal kept in ${dir}):\n  ${result.problems.join('\n  ')}\n`);
      // The next trial starts a new chain so the failing journal stays as it was found.
      chainDir = undefined;
    }
    if (trial % PROGRESS_EVERY === 0 || trial === options.trials) {
      const elapsed = (performance.now() - started) / 1000;
      process.stdout.write(`trial ${trial}/${options.trials}: ${acked} acknowledged, ${failures.length} failed, ${elapsed.toFixed(1)} s\n`);
    }
  }
  if (chainDir !== undefined && !options.keep && !failures.some((f) => f.dir === chainDir)) rmSync(chainDir, { recursive: true, force: true });
  if (options.dir === undefined && !options.keep && failures.length === 0) rmSync(root, { recursive: true, force: true });

  const summary = {
    ok: failures.length === 0,
    seed,
    trials: options.trials,
    failed: failures.length,
    acked,
    ackedApproved,
    unacknowledgedDurable,
    continuedJournals: continued,
    longestChain,
    largestJournal,
    killModes,
    durationSeconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    dir: root,
    failures: failures.slice(0, 20),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return summary.ok;
}

async function main(argv: readonly string[]): Promise<void> {
  let options: RunOptions;
  try {
    options = parseArgs(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed the message (and help); --help is a success.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`crash-run: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  process.exitCode = (await run(options)) ? 0 : 1;
}

await main(process.argv.slice(2));
