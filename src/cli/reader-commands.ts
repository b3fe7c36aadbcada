import type { Command } from 'commander';
import { randomInt } from 'node:crypto';
import { BadInputError } from '../errors.js';
import { allowedCases } from '../reader/conformance/case-ids.js';
import { type ConformanceCommandOptions, runConformanceCommand } from '../reader/conformance/command.js';
import { loadReaderProfile } from '../reader/profile.js';
import { SIM_CARD_KINDS, parseCardScript } from '../reader/simulator/cards.js';
import { runSimulator } from '../reader/simulator/run.js';
import { type ReaderSecrets, loadReaderSecrets } from '../reader/simulator/secure-reader.js';
import { EXIT } from './exit-codes.js';

const MAX_SEED = 0xffff_ffff;

export function registerReaderCommands(program: Command): void {
  const reader = program.command('reader').description('card readers: simulate one on a serial device, or test one against the wire protocol');

  reader
    .command('simulate')
    .description('act as reader firmware on a serial device (e.g. one end of a socat pty pair); SIGTERM stops it')
    .requiredOption('--port <path>', 'serial device the simulated reader owns')
    .requiredOption('--profile <name>', 'reader profile (a file in devices/, without .json, or a path to one)')
    .option('--cards <list>', `cards presented in turn, cycling: ${SIM_CARD_KINDS.join(', ')}`, 'good')
    .option('--seed <n>', `seed for the generated cards, 0..${MAX_SEED} (random when omitted)`)
    .option('--pace', "behave like a UART at the profile's baud rate: a frame takes its wire time to arrive and to send")
    .option('--reader-seed-file <file>', "secure sessions (protocol 1.1): the reader's Ed25519 seed, base64 of 32 bytes (edgepay keygen reader-signing)")
    .option('--token-key-file <file>', "secure sessions: the store's token key, base64 of 32 bytes, so the reader computes the card's token")
    .option('--centre-key-file <file>', "secure sessions: the centre's card-seal public key, base64 of 32 bytes, to seal the PAN to")
    .addHelpText(
      'after',
      `
The simulator prints one status line per event to stderr and never prints card data.
Exit codes: 0 after SIGTERM/SIGINT, 3 when the serial device goes away or an 'unplug' card is scripted.`,
    )
    .action(async (opts: SimulateOptions) => {
      const profile = loadReaderProfile(opts.profile);
      const cards = parseCardScript(opts.cards);
      const seed = opts.seed === undefined ? randomInt(MAX_SEED) : parseSeed(opts.seed);
      const secrets = secretsFrom(opts);
      process.exitCode = await runSimulator({
        path: opts.port,
        profile,
        cards,
        seed,
        pace: opts.pace === true,
        ...(secrets === undefined ? {} : { secrets }),
        status: (line) => process.stderr.write(`reader-sim: ${line}\n`),
      });
    });

  reader
    .command('conformance')
    .description("test a reader against the wire protocol's conformance cases (C1-C11; S1-S4 when its HELLO offers secure sessions), acting as the node on its serial device")
    .requiredOption('--port <path>', "the reader's serial device (or unix:<socket> of a simulated reader); nothing else may have it open")
    .requiredOption('--profile <name>', 'reader profile (a file in devices/, without .json, or a path to one): line settings, ackMs, retransmissions, card wait')
    .option('--reader-key <base64>', "the reader's Ed25519 public key as a lane pins it (base64 of 32 bytes): S1 checks the reader sends it, and signatures are verified with it")
    .option('--json', 'print the report as one JSON document')
    .option('--case <id...>', `run only these cases (still in protocol order): ${allowedCases()}`)
    .addHelpText(
      'after',
      `
Prints a header (the reader's model, firmware, capabilities, maxPayload), PASS/FAIL/SKIP per case with
its time and, on failure, what was expected and what came, then "N passed, M failed, K skipped".
Card transactions need a card: present one when asked. Never prints card data.
Exit codes: 0 when no case failed, 1 when one did, 2 for a bad option or a device that cannot be opened.`,
    )
    .action(async (opts: ConformanceCommandOptions) => {
      const { failed } = await runConformanceCommand(opts);
      process.exitCode = failed ? EXIT.checkFailed : EXIT.ok;
    });
}

interface SimulateOptions {
  readonly port: string;
  readonly profile: string;
  readonly cards: string;
  readonly seed?: string;
  readonly pace?: boolean;
  readonly readerSeedFile?: string;
  readonly tokenKeyFile?: string;
  readonly centreKeyFile?: string;
}

/** All three key files make a secure reader; one or two of them is a mistake, not a clear reader. */
function secretsFrom(opts: SimulateOptions): ReaderSecrets | undefined {
  const given = { 'reader-seed-file': opts.readerSeedFile, 'token-key-file': opts.tokenKeyFile, 'centre-key-file': opts.centreKeyFile };
  const missing = Object.entries(given).filter(([, file]) => file === undefined);
  if (missing.length === 3) return undefined;
  if (missing.length > 0 || opts.readerSeedFile === undefined || opts.tokenKeyFile === undefined || opts.centreKeyFile === undefined) {
    throw new BadInputError(
      'secure reader options',
      missing.map(([name]) => ({ path: name, message: 'must be given with the other two: a secure reader needs its seed, the token key and the centre key' })),
    );
  }
  return loadReaderSecrets({ seedFile: opts.readerSeedFile, tokenKeyFile: opts.tokenKeyFile, centreKeyFile: opts.centreKeyFile });
}

function parseSeed(text: string): number {
  const seed = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(seed) || seed > MAX_SEED) {
    throw new BadInputError('--seed', [{ path: 'seed', message: `must be a whole number from 0 to ${MAX_SEED}`, value: text }]);
  }
  return seed;
}
