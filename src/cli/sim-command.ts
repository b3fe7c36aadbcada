import type { Command } from 'commander';
import { type SimReport, runSimulation } from '../sim/simulation.js';
import { EXIT } from './exit-codes.js';
import { parseMinutesOption, parseWholeOption } from './number-options.js';

const SECONDS_RANGE = { min: 1, max: 86_400 } as const;
const SEEDS_RANGE = { min: 1, max: 100_000_000 } as const;
const MINUTES_RANGE = { min: 0.1, max: 10_080 } as const;

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description(
      "deterministic simulation of a whole store in one process on simulated time: the node's journal, stand-in, lanes with card readers on simulated serial lines, replication (quorum, liveness, custody and rules updates included) and uplink, the centre's ledger, a seeded broker that loses, doubles and reorders, and seeded faults (crashes anywhere, torn writes, dead disks replaced from backup and peers, unplugged readers, cut links and partitions, broker restarts, a cut uplink, clock jumps, full disks, forgeries); checks the store's promises P1-P8 after each seed",
    )
    .option('--seed <n>', 'the first seed', (v) => parseWholeOption('--seed', v, 0, 0xffff_ffff), 1)
    .option('--seeds <n>', `how many seeds from --seed (${SEEDS_RANGE.min} to ${SEEDS_RANGE.max}); a long run is many seeds`, (v) => parseWholeOption('--seeds', v, SEEDS_RANGE.min, SEEDS_RANGE.max), 1)
    .option('--seconds <n>', `simulated seconds of trading per seed (${SECONDS_RANGE.min} to ${SECONDS_RANGE.max})`, (v) => parseWholeOption('--seconds', v, SECONDS_RANGE.min, SECONDS_RANGE.max), 60)
    .option('--minutes <n>', `the long mode: seeds from --seed one after the other for this many minutes of real time (${MINUTES_RANGE.min} to ${MINUTES_RANGE.max}), instead of --seeds`, (v) =>
      parseMinutesOption('--minutes', v, MINUTES_RANGE.min, MINUTES_RANGE.max),
    )
    .option('--json', 'one JSON report per seed, one per line')
    .option('--keep', "keep each seed's data directory")
    .action(async (opts: { seed: number; seeds: number; seconds: number; minutes?: number; json?: boolean; keep?: boolean }) => {
      let failed = 0;
      let run = 0;
      const until = opts.minutes === undefined ? undefined : Date.now() + opts.minutes * 60_000;
      for (let seed = opts.seed; until === undefined ? seed < opts.seed + opts.seeds : Date.now() < until; seed++) {
        const report = await runSimulation({ seed, durationMs: opts.seconds * 1_000, keep: opts.keep === true });
        run++;
        if (!report.ok) failed++;
        process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatSimLine(report, opts.seconds));
      }
      if (!opts.json && run > 1) process.stdout.write(`${run - failed} of ${run} seeds kept every promise\n`);
      process.exitCode = failed === 0 ? EXIT.ok : EXIT.checkFailed;
    });
}

function formatSimLine(report: SimReport, seconds: number): string {
  const faults =
    Object.entries(report.faults)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  const head = `seed ${report.seed}: ${report.ok ? 'ok' : 'FAIL'} — ${report.events} events, ${report.payments.total} payments (${report.payments.approved} approved, ${report.readers.payments} at the readers), faults ${faults}; network lost ${report.network.lost}, doubled ${report.network.duplicated}; one key sent twice at once ${report.doubled.sent} (${report.doubled.joined} joined, ${report.doubled.refused} refused); quorum ${report.quorum.reached} reached, ${report.quorum.localOnly} local-only; custody forwarded ${report.custodyForwarded}`;
  if (report.ok) return `${head}\n`;
  return `${head}\n${report.violations.map((v) => `  - ${v}`).join('\n')}\n  replay: npm run sim -- --seed ${report.seed} --seconds ${seconds}\n`;
}
