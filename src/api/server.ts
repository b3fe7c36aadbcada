import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { LaneService } from '../lanes/lane-service.js';
import { RUNS_BUNDLED } from '../platform/modules.js';
import { isServedHost, servedHosts } from '../platform/served-hosts.js';
import { type RefusalReason, bearerChecker, challengeFor } from './bearer-auth.js';
import { clientErrorHandler } from './client-errors.js';
import { fromFastifyError, sendError } from './errors.js';
import { parseJsonBody } from './json-body.js';
import { openApiDocument } from './openapi.js';
import { cutText } from './problems.js';
import { registerRoutes } from './routes.js';
import { KEY_MAX_LENGTH } from './schemas.js';

/** Most bytes of a request body: payment requests are a few hundred. */
export const BODY_LIMIT_BYTES = 16 * 1024;
/** Most bytes of the request line and headers together (Node's default, pinned so the document can state it). */
export const HEADERS_LIMIT_BYTES = 16 * 1024;
/**
 * Longest time for a request to arrive in full (headers and body; the answer may take longer, a
 * payment waits for its card). A few hundred bytes on loopback take microseconds.
 */
export const REQUEST_TIMEOUT_MS = 10_000;

export interface ApiServerOptions {
  readonly logger: Logger;
  readonly version: string;
  /** On TCP: the token every request but the public ones must carry as Authorization: Bearer. */
  readonly bearerToken?: string;
  /** Told of each request refused for want of the token (the node counts them). */
  readonly onUnauthorized?: (reason: RefusalReason) => void;
  /** Tests shorten it to see a 408 without waiting. */
  readonly requestTimeoutMs?: number;
}

/** Route configuration: a public route is served without the bearer token. */
interface PublicRouteConfig {
  readonly public?: boolean;
}

export function buildApiServer(lanes: LaneService, options: ApiServerOptions): FastifyInstance {
  const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const fastifyLimits = { bodyLimitBytes: BODY_LIMIT_BYTES, idMaxLength: KEY_MAX_LENGTH };
  // The node's pino logger, typed as fastify's base logger so routes keep fastify's default types.
  const loggerInstance: FastifyBaseLogger = options.logger.child({ component: 'api' });
  const app: FastifyInstance = Fastify({
    loggerInstance,
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: requestTimeoutMs,
    http: {
      maxHeaderSize: HEADERS_LIMIT_BYTES,
      headersTimeout: requestTimeoutMs,
      // Node checks request timeouts on this period (30 s by default), so a limit of seconds needs a shorter one.
      connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs),
    },
    // A payment id is at most KEY_MAX_LENGTH characters, each up to 3 when percent-encoded in the path.
    routerOptions: { maxParamLength: 3 * KEY_MAX_LENGTH },
    clientErrorHandler: clientErrorHandler({ headersLimitBytes: HEADERS_LIMIT_BYTES, requestTimeoutMs }),
    // Errors of fastify's router (broken percent-encoding, an over-long path parameter) in the API's shape.
    frameworkErrors: (error, request, reply) => sendError(reply, fromFastifyError(error, request, fastifyLimits) ?? error),
    // Answered by the onRequest hook below instead, in the API's shape.
    return503OnClosing: false,
  });
  // JSON only: a body of any other type is a 415 naming application/json. The parser says where
  // malformed JSON fails and refuses prototype keys by name.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Errors raised before a handler runs (body size, content type, JSON, URL encoding) get the same
  // shape and their own codes.
  app.setErrorHandler((error: { code?: string; statusCode?: number; message: string }, request, reply) => sendError(reply, fromFastifyError(error, request, fastifyLimits) ?? error));
  // The node stops the API first: a request that still arrives on an open connection is told so in
  // the API's shape (fastify's own 503 for this has a body of its own).
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    void reply.header('connection', 'close');
    // Returning the sent reply ends the request here.
    return sendError(reply, { code: 'EDGEPAY_NODE_STOPPING', message: 'the node is stopping: the POS API takes no new requests' });
  });
  // On TCP, only requests addressed to this API (see servedHosts); a Unix socket is out of a browser's reach.
  let served: ReadonlySet<string> | null | undefined;
  app.addHook('onRequest', async (request, reply) => {
    if (served === undefined) {
      const address = app.server.address();
      served = typeof address === 'object' && address !== null ? servedHosts(address) : null;
    }
    if (served === null || isServedHost(request.headers.host, served)) return;
    return sendError(reply, {
      code: 'EDGEPAY_HOST_NOT_ALLOWED',
      message: `Host ${JSON.stringify(cutText(request.headers.host ?? ''))} does not name this API; it answers to ${[...served].join(', ')}`,
    });
  });
  // Then the caller: on TCP any process on the box can connect, so only a holder of the node's
  // token may go further. Refused before any route runs: nothing is started, journaled or read.
  if (options.bearerToken !== undefined) {
    const check = bearerChecker(options.bearerToken);
    app.addHook('onRequest', async (request, reply) => {
      if ((request.routeOptions.config as PublicRouteConfig | undefined)?.public === true) return;
      const verdict = check(request.headers.authorization);
      if (verdict.ok) return;
      options.onUnauthorized?.(verdict.reason);
      request.log.warn({ reason: verdict.reason }, 'POS API request refused: no valid bearer token');
      void reply.header('www-authenticate', challengeFor(verdict.reason));
      return sendError(reply, { code: 'EDGEPAY_API_UNAUTHORIZED', message: verdict.message });
    });
  }
  app.setNotFoundHandler((request, reply) => sendError(reply, { code: 'EDGEPAY_NOT_FOUND', message: `no route ${request.method} ${cutText(request.url)}; see /openapi.json` }));
  const limits = { bodyLimitBytes: BODY_LIMIT_BYTES, headersLimitBytes: HEADERS_LIMIT_BYTES, requestTimeoutMs };
  const document = openApiDocument(options.version, limits, { bearer: options.bearerToken !== undefined });
  // Public: it describes the API (and how to authenticate) and moves nothing; a POS reads it before it has a token.
  const publicRoute: PublicRouteConfig = { public: true };
  app.get('/openapi.json', { config: publicRoute }, async () => document);
  registerRoutes(app, lanes);
  return app;
}

/**
 * Loads what fastify loads only when the first server is built (its schema compilers, ~60 ms): the
 * node calls this while its actors start, so the POS API's start does not pay for it.
 */
export function preloadServerModules(): void {
  // Bundled, fastify's lazy requires are functions of the bundle, with nothing to read from disk.
  if (RUNS_BUNDLED) return;
  const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
  fromFastify('@fastify/ajv-compiler');
  fromFastify('@fastify/fast-json-stringify-compiler');
}
