import type { Command } from 'commander';
import { randomInt } from 'node:crypto';
import { BadInputError } from '../errors.js';
import { loadReaderProfile } from '../reader/profile.js';
import { SIM_CARD_KINDS, parseCardScript } from '../reader/simulator/cards.js';
import { runSimulator } from '../reader/simulator/run.js';

const MAX_SEED = 0xffff_ffff;

export function registerReaderCommands(program: Command): void {
  const reader = program.command('reader').description('card readers: simulate one on a serial device');

  reader
    .command('simulate')
    .description('act as reader firmware on a serial device (e.g. one end of a socat pty pair); SIGTERM stops it')
    .requiredOption('--port <path>', 'serial device the simulated reader owns')
    .requiredOption('--profile <name>', 'reader profile (a file in devices/, without .json, or a path to one)')
    .option('--cards <list>', `cards presented in turn, cycling: ${SIM_CARD_KINDS.join(', ')}`, 'good')
    .option('--seed <n>', `seed for the generated cards, 0..${MAX_SEED} (random when omitted)`)
    .option('--pace', "behave like a UART at the profile's baud rate: a frame takes its wire time to arrive and to send")
    .addHelpText(
      'after',
      `
The simulator prints one status line per event to stderr and never prints card data.
Exit codes: 0 after SIGTERM/SIGINT, 3 when the serial device goes away or an 'unplug' card is scripted.`,
    )
    .action(async (opts: { port: string; profile: string; cards: string; seed?: string; pace?: boolean }) => {
      const profile = loadReaderProfile(opts.profile);
      const cards = parseCardScript(opts.cards);
      const seed = opts.seed === undefined ? randomInt(MAX_SEED) : parseSeed(opts.seed);
      process.exitCode = await runSimulator({
        path: opts.port,
        profile,
        cards,
        seed,
        pace: opts.pace === true,
        status: (line) => process.stderr.write(`reader-sim: ${line}\n`),
      });
    });
}

function parseSeed(text: string): number {
  const seed = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(seed) || seed > MAX_SEED) {
    throw new BadInputError('--seed', [{ path: 'seed', message: `must be a whole number from 0 to ${MAX_SEED}`, value: text }]);
  }
  return seed;
}
