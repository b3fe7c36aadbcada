#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isEdgepayError } from '../errors.js';
import { registerBenchCommands } from './bench-commands.js';
import { registerDemoCommand } from './demo-command.js';
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from './exit-codes.js';
import { registerJournalCommands } from './journal-commands.js';

export function buildProgram(): Command {
  const program = new Command()
    .name('edgepay')
    .description('edge payment node: offline authorization against a durable, hash-chained journal')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .showHelpAfterError();
  registerJournalCommands(program);
  registerBenchCommands(program);
  registerDemoCommand(program);
  for (const command of program.commands) command.addHelpText('after', EXIT_CODES_HELP);
  return program;
}

async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander but successes to the user.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const message = isEdgepayError(error) ? `${error.code}: ${error.message}` : String((error as Error)?.stack ?? error);
    process.stderr.write(`edgepay: ${message}\n`);
    process.exitCode = exitCodeFor(error);
  }
}

await main(process.argv);
