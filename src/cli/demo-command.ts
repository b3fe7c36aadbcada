import type { Command } from 'commander';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize } from '../demo/summary.js';
import { runTradingDay } from '../demo/trading-day.js';
import { EXIT } from './exit-codes.js';
import { parsePositiveInt } from './journal-commands.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run one node through a scripted offline trading day on embedded defaults and print a summary')
    .option('--dir <path>', 'data directory (default: a new temporary directory)')
    .option('--seed <n>', 'seed for the day\'s shoppers and baskets', parsePositiveInt, 20261127)
    .option('--lanes <n>', 'checkout lanes on this node', parsePositiveInt, 4)
    .action(async (opts: { dir?: string; seed: number; lanes: number }) => {
      const options = {
        dir: opts.dir ?? mkdtempSync(join(tmpdir(), 'edgepay-demo-')),
        seed: opts.seed,
        lanes: opts.lanes,
        openWallMs: Date.UTC(2026, 10, 27, 8, 0, 0),
        hours: 12,
        linkDownAfterHours: 5,
      };
      const result = await runTradingDay(options);
      process.stdout.write(summarize(options, result));
      process.exitCode = result.verify.ok ? EXIT.ok : EXIT.checkFailed;
    });
}
