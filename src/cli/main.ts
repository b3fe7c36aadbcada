#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { BadInputError, isEdgepayError } from '../errors.js';
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from './exit-codes.js';
import { registerJournalCommands } from './journal-commands.js';
import { registerNodeCommands } from './node-commands.js';
import { registerReaderCommands } from './reader-commands.js';
import { registerReconcileCommands } from './reconcile-commands.js';
import { registerCentreCommands } from './centre-commands.js';
import { registerCertsCommands } from './certs-commands.js';
import { registerConfigCommands } from './config-commands.js';
import { registerDocsCommands } from './docs-commands.js';
import { registerRulesCommands } from './rules-commands.js';
import { registerStoreCommands } from './store-commands.js';
import { registerKeygenCommand } from './keygen-command.js';
import { type Registrar, loadRigRegistrars } from './rig-commands.js';

/** `rigs`: the benchmark, demo, chaos and simulation commands, or their stand-ins where left out (rig-commands.ts). */
export function buildProgram(rigs: readonly Registrar[]): Command {
  const program = new Command()
    .name('edgepay')
    .description('edge payment node: offline authorization against a durable, hash-chained journal')
    .version(packageVersion(), '-V, --version')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .showHelpAfterError();
  registerNodeCommands(program);
  registerJournalCommands(program);
  registerRulesCommands(program);
  registerStoreCommands(program);
  registerReconcileCommands(program);
  registerCentreCommands(program);
  registerCertsCommands(program);
  registerKeygenCommand(program);
  registerConfigCommands(program);
  registerReaderCommands(program);
  registerDocsCommands(program);
  for (const register of rigs) register(program);
  for (const command of program.commands) command.addHelpText('after', EXIT_CODES_HELP);
  return program;
}

async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram(await loadRigRegistrars()).parseAsync([...argv]);
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

function packageVersion(): string {
  // dist/cli/main.js and src/cli/main.ts both sit two levels below the package root.
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
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
