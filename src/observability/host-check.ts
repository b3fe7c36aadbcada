import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { isServedHost, servedHosts } from '../platform/served-hosts.js';

/**
 * Answers only requests addressed to this server (its address, localhost on loopback, the box's
 * host name): a page in a browser on the same machine cannot read it through DNS rebinding.
 */
export function allowOnlyServedHosts(app: FastifyInstance): void {
  let served: ReadonlySet<string> | undefined;
  app.addHook('onRequest', async (request, reply) => {
    served ??= servedHosts(app.server.address() as AddressInfo);
    if (isServedHost(request.headers.host, served)) return;
    return reply.code(403).send({
      error: { code: 'EDGEPAY_HOST_NOT_ALLOWED', message: `Host ${JSON.stringify((request.headers.host ?? '').slice(0, 64))} does not name this server; it answers to ${[...served].join(', ')}` },
    });
  });
}

/** The http:// URL a listening server answers on. */
export function listeningUrl(app: FastifyInstance): string {
  const address = app.server.address();
  return typeof address === 'object' && address !== null ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);
}
