import type { Command } from 'commander';
import { BadInputError } from '../errors.js';
import { readConfigFile } from '../platform/config-file.js';
import { describeCentreConfig } from './centre-commands.js';
import { describeNodeConfig } from './node-commands.js';

export function registerConfigCommands(program: Command): void {
  program
    .command('config')
    .description('configuration files')
    .command('check')
    .description("validate a node's or the centre's configuration (.yaml or .json) and the files it names; every problem with its key path, value and what is allowed")
    .argument('<file>', 'configuration file')
    .action(async (file: string) => {
      // A node's file names its node; the centre's names its fleet and ledger. Nothing else is guessed.
      const data = readConfigFile(file, 'configuration');
      const keys = typeof data === 'object' && data !== null ? Object.keys(data) : [];
      if (keys.includes('nodeId')) return void process.stdout.write(`${describeNodeConfig(file)}\n`);
      if (keys.includes('fleet') && keys.includes('ledger')) return void process.stdout.write(`${await describeCentreConfig(file)}\n`);
      throw new BadInputError(`configuration ${file}`, [{ path: '', message: 'is neither a node configuration (it has no nodeId) nor a centre configuration (fleet and ledger)', value: keys }]);
    });
}
