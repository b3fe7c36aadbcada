import type { Command } from 'commander';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { loadNodeConfig } from '../node/config.js';
import { loadRules } from '../node/rules-source.js';
import { readApiToken } from '../api/api-token.js';
import { loadCardKeys } from '../card/keys.js';
import { loadCentrePublicKey } from '../central/centre-keys.js';
import { runNodeUntilSignal } from '../node/run.js';
import { registerRebuildCommand } from './rebuild-command.js';
import { registerTokenKeyCommand } from './token-key-command.js';
import { registerUnitDevicesCommand } from './unit-devices-command.js';
import { loadReaderProfile } from '../reader/profile.js';
import type { NodeConfig } from '../node/config.js';
import { initNode } from '../node/init.js';
import { requireDistinctLaneDevices } from '../node/lane-ports.js';
import { loadBrokerTls } from '../platform/broker-tls.js';

/** Everything a node needs from disk, checked before anything starts, each failure naming its file. */
export function checkNodeFiles(config: NodeConfig): void {
  loadRules(config.rulesFile);
  loadCardKeys(config.keys);
  if (config.centre?.signingPublicKeyFile !== undefined) loadCentrePublicKey(config.centre.signingPublicKeyFile);
  for (const lane of config.lanes) loadReaderProfile(lane.profile);
  requireDistinctLaneDevices(config.lanes);
  if (config.api !== undefined && 'tokenFile' in config.api) readApiToken(config.api.tokenFile);
  if (config.replication !== undefined) loadBrokerTls(config.replication.brokerUrl, config.replication, 'replication.');
}

/** Said loudly wherever a node is checked or started with its token key in a plain file. */
export function plainTokenKeyWarning(config: Pick<NodeConfig, 'keys'>): string | undefined {
  if (!config.keys.plainTokenKeyFileForDevelopment) return undefined;
  return (
    `WARNING: keys.plainTokenKeyFileForDevelopment is set: the card token key is read from the plain file ${config.keys.tokenKeyFile}. ` +
    'Whoever reads that file can test card numbers against every token in the journals and replicas. For development only; ' +
    'in production seal the key with `edgepay node seal-token-key` and name it "credential:token.key"'
  );
}

/** Validates a node configuration and the files it names; the one-line summary `check-config` prints. */
export function describeNodeConfig(file: string): string {
  const config = loadNodeConfig(file);
  checkNodeFiles(config);
  const warning = plainTokenKeyWarning(config);
  if (warning !== undefined) process.stderr.write(`${warning}\n`);
  const lanes = config.lanes.map((l) => `${l.id} (${l.profile} on ${l.port})`).join(', ') || 'none';
  const api = config.api === undefined ? 'off' : 'socket' in config.api ? config.api.socket : `${config.api.host}:${config.api.port}, bearer token in ${config.api.tokenFile}`;
  return `ok: node ${config.nodeId}, data in ${config.dataDir}; lanes: ${lanes}; POS API: ${api}`;
}

export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('run an edgepay node');
  registerRebuildCommand(node);
  registerTokenKeyCommand(node);
  registerUnitDevicesCommand(node);

  node
    .command('init')
    .description("create a new node's data directory (0700) and its empty journal, stamped with the node id, and with the POS API on TCP its token file (0600) if there is none; refuses if a journal is there already. `node run` never creates a journal")
    .requiredOption('--config <file>', 'node configuration file (.yaml or .json)')
    .action((opts: { config: string }) => {
      // Only nodeId, dataDir and the API's token file are used: key files may be systemd credentials, readable by the service alone.
      const result = initNode(loadNodeConfig(opts.config));
      const dir = result.createdDataDir ? `created ${result.dataDir} (0700)` : `data directory ${result.dataDir} was there`;
      const token =
        result.apiToken === undefined ? '' : result.apiToken.created ? `, POS API token ${result.apiToken.file} (0600: give the POS a copy)` : `, POS API token ${result.apiToken.file} kept as it is`;
      process.stdout.write(`initialized node ${result.nodeId}: ${dir}, empty journal ${result.journalPath}${token}; start it with \`edgepay node run --config ${opts.config}\`\n`);
    });

  node
    .command('run')
    .description('start the node as a supervision tree; SIGTERM stops it after answering every payment in flight')
    .requiredOption('--config <file>', 'node configuration file (.yaml or .json)')
    .action(async (opts: { config: string }) => {
      const config = loadNodeConfig(opts.config);
      // Fail here, with the file named, rather than inside an actor's start.
      checkNodeFiles(config);
      const logger = pino({ level: config.log.level, base: { nodeId: config.nodeId } });
      const warning = plainTokenKeyWarning(config);
      if (warning !== undefined) logger.warn({ tokenKeyFile: config.keys.tokenKeyFile }, warning);
      const result = await runNodeUntilSignal({ config, registry: new Registry(), logger });
      logger.info({ exitCode: result.exitCode }, result.reason);
      logger.flush();
      process.exitCode = result.exitCode;
    });

  node
    .command('check-config')
    .description("validate a node configuration file and the files it names (rules, keys, reader profiles, the POS API's token) and that each lane has a serial device of its own (links followed)")
    .argument('<file>', 'node configuration file (.yaml or .json)')
    .action((file: string) => {
      process.stdout.write(`${describeNodeConfig(file)}\n`);
    });
}
