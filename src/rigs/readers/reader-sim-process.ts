import { parseArgs } from 'node:util';
import { loadReaderProfile } from '../../reader/profile.js';
import { parseCardScript } from '../../reader/simulator/cards.js';
import { runSimulator } from '../../reader/simulator/run.js';
import { loadReaderSecrets } from '../../reader/simulator/secure-reader.js';

/*
 * The lane bench's reader: the real simulator in a process of its own, as firmware runs on a
 * device of its own, started with the pacing switch (`--pace`) that the bench needs.
 * Usage: node dist/rigs/readers/reader-sim-process.js --port <path> --profile <name> [--cards good] [--seed 7] [--pace]
 *        [--reader-seed-file F --token-key-file F --centre-key-file F]   (a secure reader, protocol 1.1)
 */

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    profile: { type: 'string' },
    cards: { type: 'string', default: 'good' },
    seed: { type: 'string', default: '7' },
    pace: { type: 'boolean', default: false },
    'reader-seed-file': { type: 'string' },
    'token-key-file': { type: 'string' },
    'centre-key-file': { type: 'string' },
  },
});

try {
  if (values.port === undefined || values.profile === undefined) throw new Error('--port and --profile are required');
  const seed = Number(values.seed);
  if (!/^\d+$/.test(values.seed) || seed > 0xffff_ffff) throw new Error(`--seed ${JSON.stringify(values.seed)} must be a whole number from 0 to 4294967295`);
  const seedFile = values['reader-seed-file'];
  const tokenKeyFile = values['token-key-file'];
  const centreKeyFile = values['centre-key-file'];
  const secureFiles = [seedFile, tokenKeyFile, centreKeyFile].filter((file) => file !== undefined).length;
  if (secureFiles !== 0 && secureFiles !== 3) throw new Error('--reader-seed-file, --token-key-file and --centre-key-file go together');
  const secrets = seedFile !== undefined && tokenKeyFile !== undefined && centreKeyFile !== undefined ? loadReaderSecrets({ seedFile, tokenKeyFile, centreKeyFile }) : undefined;
  process.exitCode = await runSimulator({
    path: values.port,
    profile: loadReaderProfile(values.profile),
    cards: parseCardScript(values.cards),
    seed,
    pace: values.pace,
    ...(secrets === undefined ? {} : { secrets }),
    status: (line) => process.stderr.write(`reader-sim: ${line}\n`),
  });
} catch (error) {
  process.stderr.write(`reader-sim: ${(error as Error).message}\n`);
  // The same code as a device that could not be opened: the bench reports the line above.
  process.exitCode = 3;
}
