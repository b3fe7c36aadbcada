import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { ChildExit, ChildHandle } from '../actors/index.js';
import type { TreeContext } from '../node/tree-builders.js';
import { JournalReader } from '../journal/journal-reader.js';
import { journalPathOf } from '../node/config.js';
import { isServedHost, servedHosts } from '../platform/served-hosts.js';
import { STATUS_PAGE } from './status-page.js';
import { isHealthy, nodeStatus } from './status.js';

/**
 * Metrics, health and the staff status page on their own local port, apart from the POS API:
 * a scraper or a browser on the store's back-office PC never competes with a payment for it.
 *   GET /metrics      Prometheus text format (prom-client)
 *   GET /health       200 while every child of the supervision tree runs, 503 otherwise
 *   GET /status.json  what the status page shows
 *   GET /             the status page
 */
export async function startObservabilityService(context: TreeContext): Promise<ChildHandle> {
  const settings = context.config.observability;
  if (settings === undefined) throw new Error('the observability service needs observability in the node configuration');
  // Scrapes come every few seconds: their request lines would drown the node's own logs.
  const loggerInstance: FastifyBaseLogger = context.logger.child({ component: 'observability' }, { level: 'warn' });
  const app = Fastify({ loggerInstance });
  const { runtime, promRegistry } = context;
  // Only requests addressed to this server: a page in the box's browser cannot read the status through DNS rebinding.
  let served: ReadonlySet<string> | undefined;
  app.addHook('onRequest', async (request, reply) => {
    served ??= servedHosts(app.server.address() as AddressInfo);
    if (isServedHost(request.headers.host, served)) return;
    return reply.code(403).send({
      error: { code: 'EDGEPAY_HOST_NOT_ALLOWED', message: `Host ${JSON.stringify((request.headers.host ?? '').slice(0, 64))} does not name this server; it answers to ${[...served].join(', ')}` },
    });
  });
  app.get('/metrics', async (_request, reply) => reply.type(promRegistry.contentType).send(await promRegistry.metrics()));
  app.get('/health', async (_request, reply) => {
    const healthy = isHealthy(runtime);
    return reply.code(healthy ? 200 : 503).send({ healthy, accepting: runtime.isAccepting, tree: runtime.supervisor.children() });
  });
  const reader = new JournalReader(journalPathOf(context.config), context.config.nodeId);
  app.get('/status.json', async () => nodeStatus(runtime, reader));
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'").send(STATUS_PAGE));
  await app.listen({ host: settings.host, port: settings.port });
  const address = app.server.address();
  const url = typeof address === 'object' && address !== null ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);
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
