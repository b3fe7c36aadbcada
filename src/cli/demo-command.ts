import type { Command } from 'commander';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize } from '../demo/summary.js';
import { runTradingDay } from '../demo/trading-day.js';
import { runStoreDemo } from '../demo/store/store-demo.js';
import { formatStoreReport } from '../demo/store/store-report.js';
import { EdgepayError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { parsePositiveInt } from './journal-commands.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo-store')
    .description(
      'a whole store on one machine: embedded broker, the centre on SQLite, three node processes with simulated readers on socat ptys, and a scripted day (online, uplink cut, a box killed and taken into custody, reconciliation)',
    )
    .option('--json', 'print the report as JSON (progress goes to standard error)')
    .option('--seed <n>', 'seed for the simulated readers', parsePositiveInt, 1)
    .option('--dir <path>', "directory for the store's data; a fresh subdirectory is made in it")
    .option('--keep', 'keep the data directory')
    .option('--transport <kind>', 'how the simulated readers reach their nodes: auto (ptys when socat is installed), pty or unix', parseTransport, 'auto' as const)
    .action(async (opts: { json?: boolean; seed: number; dir?: string; keep?: boolean; transport: 'auto' | 'pty' | 'unix' }) => {
      const report = await runStoreDemo({
        seed: opts.seed,
        transport: opts.transport,
        ...(opts.dir === undefined ? {} : { dir: opts.dir }),
        keep: opts.keep === true,
        progress: (line) => process.stderr.write(`demo: ${line}\n`),
      });
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatStoreReport(report));
      process.exitCode = report.matched ? EXIT.ok : EXIT.checkFailed;
    });

  program
    .command('demo')
    .description('run one node through a scripted offline trading day on embedded defaults and print a summary')
    .option('--dir <path>', 'data directory (default: a new temporary directory)')
    .option('--seed <n>', "seed for the day's shoppers and baskets", parsePositiveInt, 20261127)
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

function parseTransport(value: string): 'auto' | 'pty' | 'unix' {
  if (value === 'auto' || value === 'pty' || value === 'unix') return value;
  throw new EdgepayError('EDGEPAY_BAD_INPUT', `--transport: ${JSON.stringify(value)} is not a transport; use auto, pty or unix`, { option: '--transport', value, allowed: ['auto', 'pty', 'unix'] });
}
