import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { processLogger } from '../platform/process-logger.js';
import { Registry } from 'prom-client';
import { checkNodeConfigFile, withCredentialsDir } from '../config-check/index.js';
import { loadNodeConfig } from '../config/node-config.js';
import { runNodeUntilSignal } from '../app/run.js';
import { initNode } from '../app/init.js';
import { readConfigFile } from '../platform/config-file.js';
import { NODE_MAIN_THREAD_NAME, nameThisThread } from '../platform/thread-name.js';
import { addCredentialsDirOption } from './config-commands.js';
import { configToStart, describeNodeConfig } from './config-summary.js';
import { registerRebuildCommand } from './rebuild-registration.js';
import { registerTokenKeyCommand } from './token-key-command.js';
import { registerUnitDevicesCommand } from './unit-devices-command.js';

export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('run an edgepay node');
  registerRebuildCommand(node);
  registerTokenKeyCommand(node);
  registerUnitDevicesCommand(node);

  node
    .command('init')
    .description(
      "create a new node's data directory (0700) and its empty journal, stamped with the node id, and with the POS API on TCP its token file (0600) if there is none; refuses if a journal is there already. `node run` never creates a journal",
    )
    .requiredOption('--config <file>', 'node configuration file (.yaml or .json)')
    .action((opts: { config: string }) => {
      // Only nodeId, dataDir and the API's token file are used: key files may be systemd credentials, readable by the service alone.
      const result = initNode(loadNodeConfig(opts.config));
      const dir = result.createdDataDir ? `created ${result.dataDir} (0700)` : `data directory ${result.dataDir} was there`;
      const token = result.apiToken === undefined ? '' : result.apiToken.created ? `, POS API token ${result.apiToken.file} (0600: give the POS a copy)` : `, POS API token ${result.apiToken.file} kept as it is`;
      process.stdout.write(`initialized node ${result.nodeId}: ${dir}, empty journal ${result.journalPath}${token}; start it with \`edgepay node run --config ${opts.config}\`\n`);
    });

  node
    .command('run')
    .description('start the node as a supervision tree; SIGTERM stops it after answering every payment in flight')
    .requiredOption('--config <file>', 'node configuration file (.yaml or .json)')
    .action(async (opts: { config: string }) => {
      // Every key and every file it names checked first, all problems listed at once (exit 2, no
      // stack): a key file missing or of the wrong kind is refused here, not inside an actor's start.
      const check = checkNodeConfigFile(opts.config);
      const config = configToStart(check, `node configuration ${opts.config}`);
      nameThisThread(NODE_MAIN_THREAD_NAME);
      const logger = processLogger(config.log.level, { nodeId: config.nodeId });
      for (const warning of check.findings.warnings) logger.warn({ key: warning.path, value: warning.value }, `${warning.path} ${warning.message}`);
      const result = await runNodeUntilSignal({ config, registry: new Registry(), logger });
      logger.info({ exitCode: result.exitCode }, result.reason);
      logger.flush();
      process.exitCode = result.exitCode;
    });

  const checkConfig = node
    .command('check-config')
    .description(
      "validate a node configuration file and open every file it names (keys, rules, reader profiles, the POS API's token, TLS files, the ledger's) without creating anything; each lane's device looked at (links followed); every problem at once, exit 2",
    )
    .argument('<file>', 'node configuration file (.yaml or .json)');
  addCredentialsDirOption(checkConfig).action((file: string, opts: { credentialsDir?: string }) => {
    const env = withCredentialsDir(opts.credentialsDir);
    process.stdout.write(`${describeNodeConfig(file, readConfigFile(file, 'node configuration'), dirname(resolve(file)), env)}\n`);
  });
}
