import type { Command } from 'commander';
import { runChaos } from '../chaos/chaos.js';
import { formatChaosReport } from '../chaos/chaos-report.js';
import { FAULT_KINDS, type FaultKind } from '../chaos/faults.js';
import { EdgepayError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { parseMinutesOption, parseWholeOption } from './number-options.js';

const MINUTES_RANGE = { min: 0.1, max: 24 * 60 } as const;
const FAULT_EVERY_RANGE = { min: 5, max: 3_600 } as const;

/** A comma-separated list of fault kinds, each one of FAULT_KINDS, or EDGEPAY_BAD_INPUT naming the first that is not. */
export function parseFaultKinds(value: string): readonly FaultKind[] {
  const kinds = value.split(',').map((kind) => kind.trim());
  const unknown = kinds.find((kind) => !(FAULT_KINDS as readonly string[]).includes(kind));
  if (unknown !== undefined) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--kinds: ${JSON.stringify(unknown)} is not a kind of fault; use a comma-separated list of ${FAULT_KINDS.join(', ')}`, { option: '--kinds', value: unknown });
  }
  return [...new Set(kinds as FaultKind[])];
}

export function registerChaosCommand(program: Command): void {
  program
    .command('chaos')
    .description(
      "a real store (Mosquitto, the centre on PostgreSQL, three node processes with simulated readers on socat ptys) under POS load while seeded faults hit it: kill -9 and SIGSTOP of nodes, broker and database crashes, the broker's box down for seconds, network cuts, full disks, unplugged readers, a box losing its disk and replaced by the runbook, the whole store's power cut; then everything healed and checked, with availability per lane and per kind of fault as the POS saw it",
    )
    .option('--minutes <n>', `how long to trade under faults (${MINUTES_RANGE.min} to ${MINUTES_RANGE.max})`, (v) => parseMinutesOption('--minutes', v, MINUTES_RANGE.min, MINUTES_RANGE.max), 2)
    .option('--fault-every <seconds>', `start one fault every this many seconds (${FAULT_EVERY_RANGE.min} to ${FAULT_EVERY_RANGE.max}); by default each follows the heal of the one before after 0.3 to 2 s`, (v) =>
      parseWholeOption('--fault-every', v, FAULT_EVERY_RANGE.min, FAULT_EVERY_RANGE.max),
    )
    .option('--kinds <list>', `only these kinds of fault, comma-separated (all by default: ${FAULT_KINDS.join(', ')})`, parseFaultKinds)
    .option('--seed <n>', 'seed of the fault schedule, the amounts and the simulated readers', (v) => parseWholeOption('--seed', v, 0, 0xffff_ffff), 1)
    .option('--json', 'print the report as JSON (progress goes to standard error)')
    .option('--dir <path>', "directory for the store's data; a fresh subdirectory is made in it")
    .option('--keep', 'keep the data directory')
    .action(async (opts: { minutes: number; seed: number; faultEvery?: number; kinds?: readonly FaultKind[]; json?: boolean; dir?: string; keep?: boolean }) => {
      const report = await runChaos({
        minutes: opts.minutes,
        seed: opts.seed,
        ...(opts.faultEvery === undefined ? {} : { faultEverySeconds: opts.faultEvery }),
        ...(opts.kinds === undefined ? {} : { kinds: opts.kinds }),
        ...(opts.dir === undefined ? {} : { dir: opts.dir }),
        keep: opts.keep === true,
        progress: (line) => process.stderr.write(`chaos: ${line}\n`),
      });
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatChaosReport(report));
      process.exitCode = report.ok ? EXIT.ok : EXIT.checkFailed;
    });
}
