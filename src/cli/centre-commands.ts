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
import { CENTRE_RECONNECT_BACKOFF } from '../central/centre-mqtt-client.js';
import type { LedgerBackend } from '../central/ledger-backend.js';
import type { CardStanding } from '../central/plan.js';
import { EdgepayError } from '../errors.js';
import { openLedgerBackend } from '../reconcile/embedded-centre.js';
import { readPassword } from '../replication/broker/mqtt-link.js';
import { loadBrokerTls } from '../platform/broker-tls.js';
import { readConfigFile } from '../platform/config-file.js';
import { checkCentreConfigFile, withCredentialsDir } from '../config-check/index.js';
import { addCredentialsDirOption } from './config-commands.js';
import { configToStart, describeCentreConfig } from './config-summary.js';
import { type ServiceNotifier, notifierFromEnv } from '../service/sd-notify.js';
import { AttemptTimeoutError, retryUntilUp } from '../service/startup-retry.js';
import { registerCentreMetrics } from '../observability/centre-metrics.js';
import { type CentreObservabilityServer, LedgerProbe, startCentreObservability } from '../observability/centre-server.js';
import { registerCentreNodesCommands } from './centre-nodes-commands.js';
import { EXIT } from './exit-codes.js';
import { RULES_BROKER_USER, addBrokerTlsOptions, publishRulesConfig, readRulesFile } from './rules-publish.js';
import { parsePositiveInt } from './journal-commands.js';

export function registerCentreCommands(program: Command): void {
  const centre = program.command('centre').description("the central ledger: take the fleet's batches over MQTT, list exceptions, set card standings");

  centre
    .command('run')
    .description('take batches from every node of the fleet over MQTT and apply them to the ledger until SIGTERM/SIGINT')
    .requiredOption('--config <file>', 'centre configuration file (.yaml or .json)')
    .action(async (opts: { config: string }) => {
      // Every key and file checked first, all problems at once (exit 2): a centre that cannot sign
      // its answers must not take batches it cannot answer.
      const check = checkCentreConfigFile(opts.config);
      const config = configToStart(check, `centre configuration ${opts.config}`);
      const logger = processLogger(config.log.level);
      for (const warning of check.findings.warnings) logger.warn({ key: warning.path, value: warning.value }, `${warning.path} ${warning.message}`);
      await runCentreUntilSignal(config, logger);
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
    .description('validate a centre configuration file and open every file it names (keys, TLS files, the ledger URL file); the ledger is looked at, never opened, created or connected to; every problem at once, exit 2')
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

/** How often the state systemd shows (STATUS=) is looked at: sent only when it changed. */
const STATUS_EVERY_MS = 1_000;
/** The ledger is tried like the broker: soon after a blip, at most every 15 s during a long outage. */
const LEDGER_RETRY = { initialMs: 500, maxMs: 15_000, attemptTimeoutMs: 10_000 } as const;
/** A connection attempt the broker does not answer counts as failed after this long. */
const BROKER_CONNECT_TIMEOUT_MS = 10_000;

/** The ledger as `centre run` holds it: none until it opens, and why not meanwhile. */
interface LedgerState {
  backend: LedgerBackend | undefined;
  centre: Centre | undefined;
  problem: string | undefined;
}

/**
 * The centre until SIGTERM/SIGINT. After a power cut its broker and its database come up in any
 * order, so it starts without either: it keeps trying both with back-off (a line per failed try,
 * the tries spreading out to one every 15 s), answers /health with a 503 naming what it waits for,
 * and takes batches only once both are there. Its subscription comes after its ledger: a batch is
 * never taken, let alone answered, by a centre that cannot make it durable.
 */
async function runCentreUntilSignal(config: CentreConfig, logger: Logger): Promise<void> {
  const signingKey = loadCentreSigningKey(config.signingKeyFile);
  const service = CentreService.connect({
    fleet: config.fleet,
    brokerUrl: config.brokerUrl,
    username: config.username,
    ...(config.passwordFile === undefined ? {} : { password: readPassword(config.passwordFile) }),
    tls: loadBrokerTls(config.brokerUrl, config),
    ...(config.shareGroup === undefined ? {} : { shareGroup: config.shareGroup }),
    // Unique per process: in a share group each process is its own member.
    clientId: `edgepay-centre-${hostname()}-${process.pid}`,
    connectTimeoutMs: BROKER_CONNECT_TIMEOUT_MS,
    logger,
    signingKey,
  });
  const ledger: LedgerState = { backend: undefined, centre: undefined, problem: undefined };
  const stopping = new AbortController();
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      stopping.abort(new Error(`stopped on ${signal}`));
      resolve(signal);
    };
    process.once('SIGTERM', () => on('SIGTERM'));
    process.once('SIGINT', () => on('SIGINT'));
  });
  let observability: CentreObservabilityServer | undefined;
  const notifier = notifierFromEnv();
  const timers: NodeJS.Timeout[] = [];
  try {
    observability = config.observability === undefined ? undefined : await startCentreMonitoring(config.observability, service, ledger, logger);
    // Ready once it answers for itself: a centre waiting for its broker or its database is started
    // (its STATUS says what it waits for); systemd would otherwise kill it at the start timeout
    // and start the same wait again.
    let shown = centreState(config.fleet, service, ledger);
    notifier.ready(shown);
    timers.push(
      setInterval(() => {
        const now = centreState(config.fleet, service, ledger);
        if (now !== shown) notifier.status((shown = now));
      }, STATUS_EVERY_MS),
    );
    if (notifier.watchdogIntervalMs !== undefined) {
      // Fed while the broker connection is up or still being tried: a centre waiting for its broker
      // is not hung, and a restart would only start the same wait again. A client that stopped
      // trying (no attempt within two of its longest waits) stops the pings, and systemd restarts it.
      const tryingWithinMs = 2 * (CENTRE_RECONNECT_BACKOFF.maxMs + BROKER_CONNECT_TIMEOUT_MS);
      timers.push(setInterval(() => (service.isTrying(tryingWithinMs) ? notifier.watchdog() : notifier.status('broker connection lost and not being retried')), notifier.watchdogIntervalMs));
    }
    ledger.backend = await retryUntilUp(() => openLedgerBackend(config.ledger), {
      ...LEDGER_RETRY,
      retriable: (error) => (error as { code?: unknown }).code === 'EDGEPAY_CENTRE_UNAVAILABLE',
      onFailure: (error, attempt, retryInMs) => {
        ledger.problem = error instanceof AttemptTimeoutError ? `cannot open the central ledger: ${error.message}` : (error as Error).message;
        logger.warn({ err: error, attempt, retryInMs }, 'central ledger not available; trying again');
      },
      discard: (late) => void late.close(),
      signal: stopping.signal,
    });
    ledger.problem = undefined;
    ledger.centre = new Centre({ backend: ledger.backend, forwardDeadlineHours: config.forwardDeadlineHours });
    logger.info({ ledger: 'sqliteFile' in config.ledger ? 'sqlite' : 'postgres' }, 'central ledger open');
    service.serve(ledger.centre);
  } catch (error) {
    // SIGTERM while waiting is a clean stop; anything else (a ledger that cannot be opened for good) ends the process.
    if (!stopping.signal.aborted) {
      await shutDown(service, ledger, observability, notifier, timers);
      throw error;
    }
  }
  const signal = await signalled;
  logger.info({ signal, ...service.stats }, 'stopping: answering the batches being applied');
  notifier.stopping(`stopping on ${signal}`);
  await shutDown(service, ledger, observability, notifier, timers);
}

async function shutDown(service: CentreService, ledger: LedgerState, observability: CentreObservabilityServer | undefined, notifier: ServiceNotifier, timers: readonly NodeJS.Timeout[]): Promise<void> {
  for (const timer of timers) clearInterval(timer);
  await observability?.close();
  await service.stop();
  await ledger.backend?.close();
  notifier.close();
}

/** What systemd shows for the unit: what the centre waits for, or that it takes batches. */
function centreState(fleet: string, service: CentreService, ledger: LedgerState): string {
  if (service.serving) return `taking batches for fleet ${fleet}`;
  const waiting = Object.entries(waitingFor(service, ledger)).map(([what, why]) => `${what} (${why})`);
  return `waiting for ${waiting.join(', ')}`;
}

/** Each part the centre waits for before it takes batches, with why (the last failure). */
function waitingFor(service: CentreService, ledger: LedgerState): Record<string, string> {
  const waiting: Record<string, string> = {};
  const broker = service.brokerProblem;
  if (broker !== undefined) waiting.broker = broker;
  if (ledger.backend === undefined) waiting.ledger = ledger.problem ?? 'opening';
  return waiting;
}

/**
 * Metrics and health on the configured port, from the start: healthy while the broker connection
 * is up, the subscription taken and the ledger answers. Until it first takes batches the 503 also
 * says what it waits for (`waitingFor`: each part and its last failure).
 */
async function startCentreMonitoring(at: { host: string; port: number }, service: CentreService, ledger: LedgerState, logger: Logger): Promise<CentreObservabilityServer> {
  const registry = new Registry();
  let probe: LedgerProbe | undefined;
  const ledgerUp = async (): Promise<boolean> => {
    if (ledger.backend === undefined) return false;
    probe ??= new LedgerProbe(ledger.backend);
    return probe.up();
  };
  const none = new Map<never, number>();
  // The counts live in the centre, which exists once the ledger is open; until then there are none.
  const centreCounts = {
    get refusals() {
      return ledger.centre?.refusals ?? none;
    },
    get posted() {
      return ledger.centre?.posted ?? none;
    },
    get exceptions() {
      return ledger.centre?.exceptions ?? none;
    },
  } as Pick<Centre, 'refusals' | 'posted' | 'exceptions'>;
  registerCentreMetrics(registry, { service, centre: centreCounts, ledgerUp });
  return startCentreObservability({
    ...at,
    registry,
    logger,
    health: async () => {
      const [broker, ledgerAnswers] = [service.connected, await ledgerUp()];
      const health = { healthy: service.serving && ledgerAnswers, broker, ledger: ledgerAnswers };
      return service.startedServing ? health : { ...health, waitingFor: waitingFor(service, ledger) };
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
    .option('--password-file <file>', "file holding that user's broker password (first line)");
  // The centre's own certificate is not the rules publisher's: on the TLS listener its name would be
  // the broker user, and the centre's may not write rules. The CA is the broker's, as configured.
  addBrokerTlsOptions(pushRules, "; the configuration's caFile by default")
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
