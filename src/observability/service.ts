import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { ChildExit, ChildHandle } from '../actors/index.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { JournalReader } from '../journal/journal-reader.js';
import { journalPathOf } from '../config/node-config.js';
import type { ObservedNode } from './observed-node.js';
import { allowOnlyServedHosts, listeningUrl } from './host-check.js';
import { CENTRE_REPORT_PATH, centreReportEndpoint } from '../reconcile/report-endpoint.js';
import { STATUS_PAGE } from './status-page.js';
import { brokerConnected, isHealthy, nodeStatus } from './status.js';

/**
 * Metrics, health and the staff status page on their own local port, apart from the POS API:
 * a scraper or a browser on the store's back-office PC never competes with a payment for it.
 *   GET /metrics      Prometheus text format (prom-client)
 *   GET /health       200 while every child of the supervision tree runs, 503 otherwise; it also
 *                     shows whether the store broker is connected (which it does not wait for)
 *   GET /status.json  what the status page shows
 *   GET /centre-report.json?correlationId=report#<uuid>  the centre's signed report of this node,
 *                     asked over the node's own session (for `edgepay reconcile status`)
 *   GET /             the status page
 */
/** What the service is started with: the node as observability sees it, and where to log and register. */
export interface ObservabilityServiceContext {
  readonly config: ObservedNode['config'];
  readonly logger: Logger;
  readonly promRegistry: Registry;
  readonly runtime: ObservedNode & { setObservabilityAddress(address: string): void };
}

export async function startObservabilityService(context: ObservabilityServiceContext): Promise<ChildHandle> {
  const settings = context.config.observability;
  if (settings === undefined) throw new Error('the observability service needs observability in the node configuration');
  // Scrapes come every few seconds: their request lines would drown the node's own logs.
  const loggerInstance: FastifyBaseLogger = context.logger.child({ component: 'observability' }, { level: 'warn' });
  const app = Fastify({ loggerInstance });
  const { runtime, promRegistry } = context;
  allowOnlyServedHosts(app);
  app.get('/metrics', async (_request, reply) => reply.type(promRegistry.contentType).send(await promRegistry.metrics()));
  app.get('/health', async (_request, reply) => {
    const healthy = isHealthy(runtime);
    // The broker is shown, not counted: a node takes payments without it (it may be booting still).
    const broker = { connected: await brokerConnected(runtime) };
    return reply.code(healthy ? 200 : 503).send({ healthy, accepting: runtime.isAccepting, broker, tree: runtime.supervisor.children() });
  });
  const reader = new JournalReader(journalPathOf(context.config), context.config.nodeId);
  app.get('/status.json', async () => nodeStatus(runtime, reader));
  const centre = context.config.centre;
  const centreReport = centreReportEndpoint({
    ask: centre === undefined || centre.ledger !== undefined ? undefined : (correlationId, timeoutMs) => runtime.askOnce('uplink', { type: 'report', correlationId }, timeoutMs),
    answerTimeoutMs: centre?.answerTimeoutMs ?? 0,
    brokerConnected: () => brokerConnected(runtime),
  });
  app.get(CENTRE_REPORT_PATH, async (request, reply) => {
    const { status, body } = await centreReport(request.query);
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'").send(STATUS_PAGE));
  await app.listen({ host: settings.host, port: settings.port });
  const url = listeningUrl(app);
  runtime.setObservabilityAddress(url);
  context.logger.info({ url }, 'metrics, health and status page listening');
  let resolveExit!: (exit: ChildExit) => void;
  const exited = new Promise<ChildExit>((resolve) => (resolveExit = resolve));
  app.server.on('error', (error: Error) => resolveExit({ cause: 'crash', error }));
  return {
    exited,
    async stop(): Promise<ChildExit> {
      app.server.closeAllConnections();
      await app.close();
      reader.close();
      resolveExit({ cause: 'shutdown' });
      return exited;
    },
  };
}
