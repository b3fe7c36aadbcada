import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { processLogger } from '../platform/process-logger.js';
import { Registry } from 'prom-client';
import { Centre } from '../central/centre.js';
import { type CentreConfig, loadCentreConfig } from '../central/centre-config.js';
import { loadCentreSigningKey, writeCentreKeyPair } from '../central/centre-keys.js';
import { CentreService } from '../central/centre-service.js';
import type { LedgerBackend } from '../central/ledger-backend.js';
import type { CardStanding } from '../central/plan.js';
import { EdgepayError } from '../errors.js';
import { openLedgerBackend } from '../reconcile/embedded-centre.js';
import { readPassword } from '../replication/mqtt-link.js';
import { loadBrokerTls } from '../platform/broker-tls.js';
import { readConfigFile } from '../platform/config-file.js';
import { checkCentreConfigFile, withCredentialsDir } from '../config-check/index.js';
import { addCredentialsDirOption } from './config-commands.js';
import { configToStart, describeCentreConfig } from './config-summary.js';
import { notifierFromEnv } from '../service/sd-notify.js';
import { registerCentreMetrics } from '../observability/centre-metrics.js';
import { type CentreObservabilityServer, LedgerProbe, startCentreObservability } from '../observability/centre-server.js';
import { registerCentreNodesCommands } from './centre-nodes-commands.js';
import { EXIT } from './exit-codes.js';
import { RULES_BROKER_USER, addBrokerTlsOptions, publishRulesConfig, readRulesFile } from './rules-publish.js';
import { parsePositiveInt } from './journal-commands.js';

export function registerCentreCommands(program: Command): void {
  const centre = program.command('centre').description('the central ledger: take the fleet\'s batches over MQTT, list exceptions, set card standings');

  centre
    .command('run')
    .description('take batches from every node of the fleet over MQTT and apply them to the ledger until SIGTERM/SIGINT')
    .requiredOption('--config <file>', 'centre configuration file (.yaml or .json)')
    .action(async (opts: { config: string }) => {
      // Every key and file checked before the ledger is opened, all problems at once (exit 2): a
      // centre that cannot sign its answers or reach its broker must not take batches it cannot answer.
      const check = checkCentreConfigFile(opts.config);
      const config = configToStart(check, `centre configuration ${opts.config}`);
      const logger = processLogger(config.log.level);
      for (const warning of check.findings.warnings) logger.warn({ key: warning.path, value: warning.value }, `${warning.path} ${warning.message}`);
      const signingKey = loadCentreSigningKey(config.signingKeyFile);
      const backend = await openLedgerBackend(config.ledger);
      const centreLedger = new Centre({ backend, forwardDeadlineHours: config.forwardDeadlineHours });
      const service = await CentreService.start({
        centre: centreLedger,
        fleet: config.fleet,
        brokerUrl: config.brokerUrl,
        username: config.username,
        ...(config.passwordFile === undefined ? {} : { password: readPassword(config.passwordFile) }),
        tls: loadBrokerTls(config.brokerUrl, config),
        ...(config.shareGroup === undefined ? {} : { shareGroup: config.shareGroup }),
        // Unique per process: in a share group each process is its own member.
        clientId: `edgepay-centre-${hostname()}-${process.pid}`,
        logger,
        signingKey,
      });
      const observability = config.observability === undefined ? undefined : await startCentreMonitoring(config.observability, service, centreLedger, logger);
      // Under systemd: READY once subscribed, the watchdog fed while the broker connection is up.
      const notifier = notifierFromEnv();
      notifier.ready(`taking batches for fleet ${config.fleet}`);
      const watchdog =
        notifier.watchdogIntervalMs === undefined
          ? undefined
          : setInterval(() => (service.connected ? notifier.watchdog() : notifier.status('broker connection lost; reconnecting')), notifier.watchdogIntervalMs);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      logger.info({ signal, ...service.stats }, 'stopping: answering the batches being applied');
      notifier.stopping(`stopping on ${signal}`);
      if (watchdog !== undefined) clearInterval(watchdog);
      await observability?.close();
      await service.stop();
      await backend.close();
      notifier.close();
    });

  registerCentrePushRules(centre);
  registerCentreNodesCommands(centre);

  centre
    .command('keys')
    .description("the centre's answer key: nodes believe an online decision or a batch outcome only if it is signed with it")
    .command('create')
    .description('generate the Ed25519 answer key: centre-signing.key stays with the centre (signingKeyFile), centre-signing.pub goes to every node (centre.signingPublicKeyFile); never over existing files')
    .requiredOption('--out <dir>', 'directory for centre-signing.key (mode 0600) and centre-signing.pub')
    .action((opts: { out: string }) => {
      const files = writeCentreKeyPair(opts.out);
      process.stdout.write(`wrote ${files.keyFile} (keep it on the centre: signingKeyFile) and ${files.publicKeyFile} (copy to every node: centre.signingPublicKeyFile)\n`);
    });

  const checkConfig = centre
    .command('check-config')
    .description(
      'validate a centre configuration file and open every file it names (keys, TLS files, the ledger URL file); the ledger is looked at, never opened, created or connected to; every problem at once, exit 2',
    )
    .argument('<file>', 'centre configuration file (.yaml or .json)');
  addCredentialsDirOption(checkConfig).action((file: string, opts: { credentialsDir?: string }) => {
    const env = withCredentialsDir(opts.credentialsDir);
    process.stdout.write(`${describeCentreConfig(file, readConfigFile(file, 'centre configuration'), dirname(resolve(file)), env)}\n`);
  });

  centre
    .command('exceptions')
    .description('offline approvals the centre refused after the fact, for the operator')
    .requiredOption('--config <file>', 'centre configuration file (.yaml or .json)')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { config: string; json?: boolean }) => {
      await withLedger(loadCentreConfig(opts.config), async (backend) => {
        for (const row of await backend.exceptions(100_000)) {
          process.stdout.write(opts.json ? `${JSON.stringify(row)}\n` : `${row.origin}#${row.seq} ${row.store} ${row.currency} ${row.amountMinor} ${row.reason} (key ${row.idempotencyKey})\n`);
        }
      });
    });

  centre
    .command('card-standing')
    .description('what the centre knows about a card (by its token): hot-listed, insufficient funds, or clear')
    .requiredOption('--config <file>', 'centre configuration file (.yaml or .json)')
    .requiredOption('--token <token>', 'the card token (as in the journal)')
    .requiredOption('--standing <standing>', 'hot_listed, insufficient_funds or clear')
    .action(async (opts: { config: string; token: string; standing: string }) => {
      const standing = parseStanding(opts.standing);
      await withLedger(loadCentreConfig(opts.config), (backend) => backend.setCardStanding(opts.token, standing));
      process.exitCode = EXIT.ok;
    });
}

/** Metrics and health on the configured port: healthy while the broker connection is up and the ledger answers. */
async function startCentreMonitoring(at: { host: string; port: number }, service: CentreService, centre: Centre, logger: Logger): Promise<CentreObservabilityServer> {
  const registry = new Registry();
  const ledger = new LedgerProbe(centre.backend);
  registerCentreMetrics(registry, { service, centre, ledgerUp: () => ledger.up() });
  return startCentreObservability({
    ...at,
    registry,
    logger,
    health: async () => {
      const [broker, ledgerUp] = [service.connected, await ledger.up()];
      return { healthy: broker && ledgerUp, broker, ledger: ledgerUp };
    },
  });
}

export function registerCentrePushRules(centre: Command): void {
  const pushRules = centre
    .command('push-rules')
    .description("merge the centre's hot-listed cards into a rules file's hot-card list, sign it with the rules key and publish it retained to a store (nodes apply a higher version than theirs)")
    .argument('<file>', 'rules file (JSON), as for `rules check`; its versions are used as written')
    .requiredOption('--config <file>', 'centre configuration file (.yaml or .json): its ledger and broker')
    .requiredOption('--key <file>', 'the rules key (rules.key, PKCS8 PEM)')
    .requiredOption('--store <id>', 'the store to publish to')
    .option('--username <user>', 'broker user allowed to write the rules topic', RULES_BROKER_USER)
    .option('--password-file <file>', 'file holding that user\'s broker password (first line)');
  // The centre's own certificate is not the rules publisher's: on the TLS listener its name would be
  // the broker user, and the centre's may not write rules. The CA is the broker's, as configured.
  addBrokerTlsOptions(pushRules, '; the configuration\'s caFile by default')
    .option('--timeout-ms <ms>', 'longest wait for the broker at each step', parsePositiveInt, 10_000)
    .action(async (file: string, opts: { config: string; key: string; store: string; username: string; passwordFile?: string; ca?: string; cert?: string; certKey?: string; timeoutMs: number }) => {
      const config = loadCentreConfig(opts.config);
      const rules = readRulesFile(file);
      let hot: string[] = [];
      await withLedger(config, async (backend) => {
        hot = await backend.hotListedTokens();
      });
      const tokens = [...new Set([...(rules.hotCards?.tokens ?? []), ...hot])].sort();
      process.exitCode = await publishRulesConfig(
        () => ({ ...rules, hotCards: { ...rules.hotCards, tokens } }),
        {
          key: opts.key,
          broker: config.brokerUrl,
          fleet: config.fleet,
          store: opts.store,
          username: opts.username,
          ...(opts.passwordFile === undefined ? {} : { passwordFile: opts.passwordFile }),
          ...((opts.ca ?? config.caFile) === undefined ? {} : { ca: opts.ca ?? config.caFile }),
          ...(opts.cert === undefined ? {} : { cert: opts.cert }),
          ...(opts.certKey === undefined ? {} : { certKey: opts.certKey }),
          timeoutMs: opts.timeoutMs,
        },
        process.stdout,
        process.stderr,
      );
    });
}

async function withLedger(config: CentreConfig, work: (backend: LedgerBackend) => Promise<void>): Promise<void> {
  const backend = await openLedgerBackend(config.ledger);
  try {
    await work(backend);
  } finally {
    await backend.close();
  }
}

function parseStanding(value: string): CardStanding | null {
  if (value === 'clear') return null;
  if (value === 'hot_listed' || value === 'insufficient_funds') return value;
  throw new EdgepayError('EDGEPAY_BAD_INPUT', `--standing: ${JSON.stringify(value)} is not a standing; use hot_listed, insufficient_funds or clear`, {
    option: '--standing',
    value,
    allowed: ['hot_listed', 'insufficient_funds', 'clear'],
  });
}
