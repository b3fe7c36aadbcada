import { hostname } from 'node:os';
import type { Command } from 'commander';
import { pino } from 'pino';
import { Centre } from '../central/centre.js';
import { type CentreConfig, loadCentreConfig } from '../central/centre-config.js';
import { CentreService } from '../central/centre-service.js';
import type { LedgerBackend } from '../central/ledger-backend.js';
import type { CardStanding } from '../central/plan.js';
import { EdgepayError } from '../errors.js';
import { openLedgerBackend } from '../reconcile/embedded-centre.js';
import { readPassword } from '../replication/mqtt-link.js';
import { EXIT } from './exit-codes.js';

export function registerCentreCommands(program: Command): void {
  const centre = program.command('centre').description('the central ledger: take the fleet\'s batches over MQTT, list exceptions, set card standings');

  centre
    .command('run')
    .description('take batches from every node of the fleet over MQTT and apply them to the ledger until SIGTERM/SIGINT')
    .requiredOption('--config <file>', 'centre configuration file (JSON)')
    .action(async (opts: { config: string }) => {
      const config = loadCentreConfig(opts.config);
      const logger = pino({ level: config.log.level });
      const backend = await openLedgerBackend(config.ledger);
      const service = await CentreService.start({
        centre: new Centre({ backend, forwardDeadlineHours: config.forwardDeadlineHours }),
        fleet: config.fleet,
        brokerUrl: config.brokerUrl,
        username: config.username,
        ...(config.passwordFile === undefined ? {} : { password: readPassword(config.passwordFile) }),
        ...(config.shareGroup === undefined ? {} : { shareGroup: config.shareGroup }),
        // Unique per process: in a share group each process is its own member.
        clientId: `edgepay-centre-${hostname()}-${process.pid}`,
        logger,
      });
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      logger.info({ signal, ...service.stats }, 'stopping: answering the batches being applied');
      await service.stop();
      await backend.close();
    });

  centre
    .command('check-config')
    .description('validate a centre configuration file and open its ledger')
    .argument('<file>', 'centre configuration file (JSON)')
    .action(async (file: string) => {
      const config = loadCentreConfig(file);
      await withLedger(config, async () => undefined);
      process.stdout.write(`ok: fleet ${config.fleet}, ledger ${'sqliteFile' in config.ledger ? config.ledger.sqliteFile : 'postgres'}\n`);
    });

  centre
    .command('exceptions')
    .description('offline approvals the centre refused after the fact, for the operator')
    .requiredOption('--config <file>', 'centre configuration file (JSON)')
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
    .requiredOption('--config <file>', 'centre configuration file (JSON)')
    .requiredOption('--token <token>', 'the card token (as in the journal)')
    .requiredOption('--standing <standing>', 'hot_listed, insufficient_funds or clear')
    .action(async (opts: { config: string; token: string; standing: string }) => {
      const standing = parseStanding(opts.standing);
      await withLedger(loadCentreConfig(opts.config), (backend) => backend.setCardStanding(opts.token, standing));
      process.exitCode = EXIT.ok;
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
