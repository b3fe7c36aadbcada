import type { ChildExit, ChildHandle } from '../actors/index.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { NodeConfig } from '../config/node-config.js';
import type { LaneService } from '../lanes/lane-service.js';
import { edgepayVersion } from '../platform/version.js';
import { unauthorizedCounter } from './api-metrics.js';
import { readApiToken } from './api-token.js';
import { buildApiServer } from './server.js';
import { listenOnPassedSocket, passedApiSocket } from './passed-socket.js';
import { listenWithSocketMode } from './socket-access.js';
import { claimSocketPath } from './stale-socket.js';

// The node loads the server's lazily required modules while its actors start (tree.ts).
export { preloadServerModules } from './server.js';

/**
 * The POS API as a child of the node's tree (in the main thread): started after the lanes, stopped
 * before them, so it stops taking requests first. Closing lets requests in flight finish. On a
 * socket the service manager holds (edgepay-node.socket), the requests that came while the node
 * was down or starting are waiting in its queue and are answered now.
 */
/** What the service is started with: the node's lanes, its configuration, and where to log and register. */
export interface ApiServiceContext {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly promRegistry: Registry;
  readonly runtime: { readonly lanes: LaneService; setApiAddress(address: string): void };
}

export async function startApiService(context: ApiServiceContext): Promise<ChildHandle> {
  const api = context.config.api;
  if (!api) throw new Error('the api service needs api in the node configuration');
  const passed = passedApiSocket();
  if ('socket' in api && passed === undefined) await claimSocketPath(api.socket);
  // Read whenever the API starts: a new token written to the file takes effect at the next start.
  const access = 'socket' in api ? {} : { bearerToken: readApiToken(api.tokenFile), onUnauthorized: unauthorizedCounter(context.promRegistry) };
  const app = buildApiServer(context.runtime.lanes, { logger: context.logger, version: edgepayVersion(), ...access });
  try {
    if (passed !== undefined) {
      await app.ready();
      await listenOnPassedSocket(app.server, passed, api);
    } else if ('socket' in api) {
      await app.ready();
      await listenWithSocketMode(api.socket, () => app.listen({ path: api.socket }));
    } else {
      await app.listen({ host: api.host, port: api.port });
    }
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  const address = app.server.address();
  context.logger.info({ address, ...(passed === undefined ? {} : { passedSocket: passed.name ?? passed.fd }) }, passed === undefined ? 'POS API listening' : 'POS API listening on the socket the service manager holds');
  context.runtime.setApiAddress(typeof address === 'string' ? address : address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : '');
  let resolveExit!: (exit: ChildExit) => void;
  const exited = new Promise<ChildExit>((resolve) => (resolveExit = resolve));
  app.server.on('error', (error: Error) => resolveExit({ cause: 'crash', error }));
  let stopping: Promise<ChildExit> | undefined;
  return {
    exited,
    stop(timeoutMs: number): Promise<ChildExit> {
      stopping ??= (async () => {
        const timer = setTimeout(() => {
          app.server.closeAllConnections();
          resolveExit({ cause: 'killed' });
        }, timeoutMs);
        await app.close();
        clearTimeout(timer);
        resolveExit({ cause: 'shutdown' });
        return exited;
      })();
      return stopping;
    },
  };
}
