import type { Command } from 'commander';
import { parsePositiveInt } from './number-options.js';
import type { RebuildCommandOptions } from './rebuild-command.js';

/*
 * The command's options alone: its body (rebuild-command.ts) loads the MQTT client and the
 * replication code, which `node run`, registered beside it, must not wait for at every start.
 */

/** Adds `edgepay node rebuild` under the `node` command. */
export function registerRebuildCommand(nodeCommand: Command): void {
  nodeCommand
    .command('rebuild')
    .description("rebuild this node's journal from its peers' replicas, on a replacement box before its node starts (or complete one restored from a backup); installs only a whole, verified chain")
    .requiredOption('--from-peers', "fetch the node's own entries from the store peers over MQTT (the only source so far)")
    .requiredOption('--config <file>', 'node configuration file (YAML or JSON) with a replication section')
    .option('--timeout-s <n>', 'give up collecting after this many seconds', parsePositiveInt, 120)
    .option('--force', 'move an existing journal with entries aside (kept beside it) and rebuild anyway')
    .option('--keep-existing', 'keep the journal at the path (just restored from a backup) and add only the entries after its head, which must link to it')
    .option('--accept-incomplete', 'install the verified prefix even if the peers hold less than the node last announced')
    .option('--even-if-online', "rebuild although the node's retained status says it is online")
    .option('--origin-key <file>', "the dead node's public key (SPKI PEM) if this box has a new signing key")
    .option('--json', 'print the report as JSON')
    .action(async (opts: RebuildCommandOptions) => {
      const { runRebuildCommand } = await import('./rebuild-command.js');
      process.exitCode = await runRebuildCommand(opts, process.stdout, process.stderr);
    });
}
