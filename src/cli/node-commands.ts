import type { Command } from 'commander';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { loadNodeConfig } from '../node/config.js';
import { loadRules } from '../node/rules-source.js';
import { loadCardKeys } from '../card/keys.js';
import { runNodeUntilSignal } from '../node/run.js';

export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('run an edgepay node');

  node
    .command('run')
    .description('start the node as a supervision tree; SIGTERM stops it after answering every payment in flight')
    .requiredOption('--config <file>', 'node configuration file (JSON)')
    .action(async (opts: { config: string }) => {
      const config = loadNodeConfig(opts.config);
      // Fail here, with the file named, rather than inside an actor's start.
      loadRules(config.rulesFile);
      loadCardKeys(config.keys);
      const logger = pino({ level: config.log.level, base: { nodeId: config.nodeId } });
      const result = await runNodeUntilSignal({ config, registry: new Registry(), logger });
      logger.info({ exitCode: result.exitCode }, result.reason);
      logger.flush();
      process.exitCode = result.exitCode;
    });

  node
    .command('check-config')
    .description('validate a node configuration file and the files it names (rules, keys)')
    .argument('<file>', 'node configuration file (JSON)')
    .action((file: string) => {
      const config = loadNodeConfig(file);
      loadRules(config.rulesFile);
      loadCardKeys(config.keys);
      process.stdout.write(`ok: node ${config.nodeId}, data in ${config.dataDir}\n`);
    });
}
