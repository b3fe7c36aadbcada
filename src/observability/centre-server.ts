import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { LedgerBackend } from '../central/ledger-backend.js';
import { EdgepayError } from '../errors.js';
import { allowOnlyServedHosts, listeningUrl } from './host-check.js';

/** Longest a health check or a scrape waits for the ledger to answer before calling it down. */
export const LEDGER_PROBE_TIMEOUT_MS = 2_000;

/**
 * Whether the ledger answers: one cheap read (the head of an origin that cannot exist), bounded by
 * LEDGER_PROBE_TIMEOUT_MS. Concurrent asks (a scrape and a health check) share one query.
 */
export class LedgerProbe {
  private running: Promise<boolean> | undefined;

  constructor(private readonly backend: Pick<LedgerBackend, 'headOf'>) {}

  up(): Promise<boolean> {
    this.running ??= this.ask().finally(() => (this.running = undefined));
    return this.running;
  }

  private async ask(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), LEDGER_PROBE_TIMEOUT_MS);
      timer.unref();
    });
    try {
      return await Promise.race([
        this.backend.headOf('').then(
          () => true,
          () => false,
        ),
        timedOut,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface CentreHealth {
  readonly healthy: boolean;
  readonly broker: boolean;
  readonly ledger: boolean;
}

export interface CentreObservabilityOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readonly health: () => Promise<CentreHealth>;
  readonly logger: Logger;
}

export interface CentreObservabilityServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The centre's own metrics and health port, for Prometheus and a load balancer or systemd:
 *   GET /metrics  Prometheus text format
 *   GET /health   200 while the centre is connected to its broker and its ledger answers, 503 otherwise
 */
export async function startCentreObservability(options: CentreObservabilityOptions): Promise<CentreObservabilityServer> {
  // Scrapes come every few seconds: their request lines would drown the centre's own logs.
  const loggerInstance: FastifyBaseLogger = options.logger.child({ component: 'observability' }, { level: 'warn' });
  const app = Fastify({ loggerInstance });
  allowOnlyServedHosts(app);
  app.get('/metrics', async (_request, reply) => reply.type(options.registry.contentType).send(await options.registry.metrics()));
  app.get('/health', async (_request, reply) => {
    const health = await options.health();
    return reply.code(health.healthy ? 200 : 503).send(health);
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    throw new EdgepayError('EDGEPAY_OBSERVABILITY_LISTEN', `the centre's metrics and health server cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`, {
      host: options.host,
      port: options.port,
    });
  }
  const url = listeningUrl(app);
  options.logger.info({ url }, 'centre metrics and health listening');
  return {
    url,
    async close() {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
