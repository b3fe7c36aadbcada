import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { withCredentialsDir } from '../config-check/index.js';
import { BadInputError } from '../errors.js';
import { readConfigFile } from '../platform/config-file.js';
import { describeCentreConfig, describeNodeConfig } from './config-summary.js';

/** The option every configuration check takes: credential:<name> read from DIR outside systemd. */
export function addCredentialsDirOption(command: Command): Command {
  return command.option('--credentials-dir <dir>', "read credential:<name> paths from DIR/<name>, as the unit reads them from systemd's $CREDENTIALS_DIRECTORY (for checking outside systemd)");
}

export function registerConfigCommands(program: Command): void {
  const check = program
    .command('config')
    .description('configuration files')
    .command('check')
    .description(
      "validate a node's or the centre's configuration (.yaml or .json) and open every file it names, without creating or connecting to anything; every problem on its own line with its key path, value and what is allowed (exit 2), warnings printed with exit 0",
    )
    .argument('<file>', 'configuration file');
  addCredentialsDirOption(check).action((file: string, opts: { credentialsDir?: string }) => {
    const env = withCredentialsDir(opts.credentialsDir);
    // A node's file names its node; the centre's names its fleet and ledger. Nothing else is guessed.
    const data = readConfigFile(file, 'configuration');
    const keys = typeof data === 'object' && data !== null ? Object.keys(data) : [];
    const baseDir = dirname(resolve(file));
    if (keys.includes('nodeId')) return void process.stdout.write(`${describeNodeConfig(file, data, baseDir, env)}\n`);
    if (keys.includes('fleet') && keys.includes('ledger')) return void process.stdout.write(`${describeCentreConfig(file, data, baseDir, env)}\n`);
    throw new BadInputError(`configuration ${file}`, [{ path: '', message: 'is neither a node configuration (it has no nodeId) nor a centre configuration (fleet and ledger)', value: keys }]);
  });
}
