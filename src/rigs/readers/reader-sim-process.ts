import { parseArgs } from 'node:util';
import { loadReaderProfile } from '../../reader/profile.js';
import { parseCardScript } from '../../reader/simulator/cards.js';
import { runSimulator } from '../../reader/simulator/run.js';

/*
 * The lane bench's reader: the real simulator in a process of its own, as firmware runs on a
 * device of its own, started with the pacing switch (`--pace`) that the bench needs.
 * Usage: node dist/bench/lane-sim-process.js --port <path> --profile <name> [--cards good] [--seed 7] [--pace]
 */

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    profile: { type: 'string' },
    cards: { type: 'string', default: 'good' },
    seed: { type: 'string', default: '7' },
    pace: { type: 'boolean', default: false },
  },
});

try {
  if (values.port === undefined || values.profile === undefined) throw new Error('--port and --profile are required');
  const seed = Number(values.seed);
  if (!/^\d+$/.test(values.seed) || seed > 0xffff_ffff) throw new Error(`--seed ${JSON.stringify(values.seed)} must be a whole number from 0 to 4294967295`);
  process.exitCode = await runSimulator({
    path: values.port,
    profile: loadReaderProfile(values.profile),
    cards: parseCardScript(values.cards),
    seed,
    pace: values.pace,
    status: (line) => process.stderr.write(`reader-sim: ${line}\n`),
  });
} catch (error) {
  process.stderr.write(`reader-sim: ${(error as Error).message}\n`);
  // The same code as a device that could not be opened: the bench reports the line above.
  process.exitCode = 3;
}
