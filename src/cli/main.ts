#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { BadInputError, isEdgepayError } from '../errors.js';
import { edgepayVersion } from '../platform/version.js';
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from './exit-codes.js';
import { type Registrar, RIGS, loadRigRegistrars } from './rig-commands.js';

/*
 * Each command's module is loaded only when that command runs: `node run` is what systemd starts
 * after a crash, and loading every other command's modules (the centre's ledgers, certificates,
 * the reader simulator) would add to the time the box cannot take a payment. Help, the manual page,
 * completion and anything unrecognised load them all, so commander sees the whole program.
 */
interface CommandModule {
  readonly names: readonly string[];
  readonly load: () => Promise<Registrar>;
  /** Work begun before the module loads, for the commands where start-up time is repair time. */
  readonly early?: (argv: readonly string[]) => Promise<void>;
}

const COMMAND_MODULES: readonly CommandModule[] = [
  {
    names: ['node'],
    load: async () => (await import('./node-commands.js')).registerNodeCommands,
    early: async (argv) => {
      if (argv[3] === 'run') (await import('../app/early-threads.js')).bootJournalWriterThread();
    },
  },
  { names: ['journal'], load: async () => (await import('./journal-commands.js')).registerJournalCommands },
  { names: ['rules'], load: async () => (await import('./rules-commands.js')).registerRulesCommands },
  { names: ['store'], load: async () => (await import('./store-commands.js')).registerStoreCommands },
  { names: ['reconcile'], load: async () => (await import('./reconcile-commands.js')).registerReconcileCommands },
  { names: ['centre'], load: async () => (await import('./centre-commands.js')).registerCentreCommands },
  { names: ['certs'], load: async () => (await import('./certs-commands.js')).registerCertsCommands },
  { names: ['keygen'], load: async () => (await import('./keygen-command.js')).registerKeygenCommand },
  { names: ['config'], load: async () => (await import('./config-commands.js')).registerConfigCommands },
  { names: ['reader'], load: async () => (await import('./reader-commands.js')).registerReaderCommands },
  // The manual page and the completion describe the whole program: never loaded alone.
  { names: [], load: async () => (await import('./docs-commands.js')).registerDocsCommands },
];

/** `registrars`: the commands to add, in COMMAND_MODULES order, then the rigs' (rig-commands.ts). */
export function buildProgram(registrars: readonly Registrar[]): Command {
  const program = new Command()
    .name('edgepay')
    .description('edge payment node: offline authorization against a durable, hash-chained journal')
    .version(edgepayVersion(), '-V, --version')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .showHelpAfterError();
  for (const register of registrars) register(program);
  for (const command of program.commands) command.addHelpText('after', EXIT_CODES_HELP);
  return program;
}

/** The registrars `argv` needs: its command's alone when it names one, otherwise every one. */
async function registrarsFor(argv: readonly string[]): Promise<Registrar[]> {
  const first = argv[2];
  if (first === '-V' || first === '--version') return [];
  const own = COMMAND_MODULES.find((module) => first !== undefined && module.names.includes(first));
  if (own !== undefined) {
    await own.early?.(argv);
    return [await own.load()];
  }
  const rigIndex = RIGS.findIndex((rig) => rig.commands.some((command) => command.name === first));
  if (rigIndex >= 0) return [(await loadRigRegistrars())[rigIndex]!];
  return [...(await Promise.all(COMMAND_MODULES.map((module) => module.load()))), ...(await loadRigRegistrars())];
}

async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram(await registrarsFor(argv)).parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander but successes to the user.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    process.stderr.write(`edgepay: ${describeError(error)}\n`);
    process.exitCode = exitCodeFor(error);
  }
}

/** One line per bad field for bad input, so an operator can fix a file top to bottom. */
function describeError(error: unknown): string {
  if (error instanceof BadInputError) {
    const lines = error.problems.map((p) => `  ${p.path || '(root)'}: ${p.message}${p.value === undefined ? '' : ` (got ${JSON.stringify(p.value)})`}`);
    return `${error.code}: ${error.message.split(':')[0]}:\n${lines.join('\n')}`;
  }
  if (isEdgepayError(error)) return `${error.code}: ${error.message}`;
  return String((error as Error)?.stack ?? error);
}

/*
 * A reader that stops early (`edgepay keygen --help | head -1`) closes the pipe: stop at once and
 * quietly, as a Unix tool killed by SIGPIPE would, with its status (128 + 13), which is not 0, so a
 * service whose output is gone is still seen to have failed. Node ignores SIGPIPE itself.
 */
const EXIT_BROKEN_PIPE = 141;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT_BROKEN_PIPE);
  throw error;
});

await main(process.argv);
