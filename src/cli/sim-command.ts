import type { Command } from 'commander';
import { EdgepayError } from '../errors.js';
import { type SimReport, runSimulation } from '../sim/simulation.js';
import { EXIT } from './exit-codes.js';

const SECONDS_RANGE = { min: 1, max: 86_400 } as const;
const SEEDS_RANGE = { min: 1, max: 100_000_000 } as const;

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description(
      'deterministic simulation of a whole store in one process on simulated time: the node\'s journal, authorizer, replication and uplink, the centre\'s ledger, a seeded broker that loses, doubles and reorders, and seeded faults (crashes, cut links, broker restarts, a cut uplink, clock jumps, full disks); checks the store\'s promises after each seed',
    )
    .option('--seed <n>', 'the first seed', (v) => parseWhole('--seed', v, 0, 0xffff_ffff), 1)
    .option('--seeds <n>', `how many seeds from --seed (${SEEDS_RANGE.min} to ${SEEDS_RANGE.max}); a long run is many seeds`, (v) => parseWhole('--seeds', v, SEEDS_RANGE.min, SEEDS_RANGE.max), 1)
    .option('--seconds <n>', `simulated seconds of trading per seed (${SECONDS_RANGE.min} to ${SECONDS_RANGE.max})`, (v) => parseWhole('--seconds', v, SECONDS_RANGE.min, SECONDS_RANGE.max), 60)
    .option('--json', 'one JSON report per seed, one per line')
    .option('--keep', 'keep each seed\'s data directory')
    .action(async (opts: { seed: number; seeds: number; seconds: number; json?: boolean; keep?: boolean }) => {
      let failed = 0;
      for (let seed = opts.seed; seed < opts.seed + opts.seeds; seed++) {
        const report = await runSimulation({ seed, durationMs: opts.seconds * 1_000, keep: opts.keep === true });
        if (!report.ok) failed++;
        process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatSimLine(report, opts.seconds));
      }
      if (!opts.json && opts.seeds > 1) process.stdout.write(`${opts.seeds - failed} of ${opts.seeds} seeds kept every promise\n`);
      process.exitCode = failed === 0 ? EXIT.ok : EXIT.checkFailed;
    });
}

function formatSimLine(report: SimReport, seconds: number): string {
  const faults = Object.entries(report.faults).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const head = `seed ${report.seed}: ${report.ok ? 'ok' : 'FAIL'} — ${report.events} events, ${report.payments.total} payments (${report.payments.approved} approved), faults ${faults}; network lost ${report.network.lost}, doubled ${report.network.duplicated}`;
  if (report.ok) return `${head}\n`;
  return `${head}\n${report.violations.map((v) => `  - ${v}`).join('\n')}\n  replay: npm run sim -- --seed ${report.seed} --seconds ${seconds}\n`;
}

function parseWhole(option: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `${option}: ${JSON.stringify(value)} is not allowed; use a whole number from ${min} to ${max}`, { option, value });
  }
  return n;
}
