import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LaneService } from '../lanes/lane-service.js';
import { sendError } from './errors.js';
import { openApiDocument } from './openapi.js';
import { registerRoutes } from './routes.js';

/** Most bytes of a request body: payment requests are a few hundred. */
const BODY_LIMIT_BYTES = 16 * 1024;

export function buildApiServer(lanes: LaneService, options: { logger: Logger; version: string }): FastifyInstance {
  // The node's pino logger, typed as fastify's base logger so routes keep fastify's default types.
  const loggerInstance: FastifyBaseLogger = options.logger.child({ component: 'api' });
  const app: FastifyInstance = Fastify({ loggerInstance, bodyLimit: BODY_LIMIT_BYTES });
  // Malformed JSON, a wrong content type or an oversize body get the same error shape as everything else.
  app.setErrorHandler((error: unknown, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const message = (error as Error).message;
      return reply.code(status).send({ error: { code: 'EDGEPAY_BAD_INPUT', message, problems: [{ path: '', message }] } });
    }
    return sendError(reply, error);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'EDGEPAY_NOT_FOUND', message: `no route ${request.method} ${request.url}; see /openapi.json` } }),
  );
  const document = openApiDocument(options.version);
  app.get('/openapi.json', async () => document);
  registerRoutes(app, lanes);
  return app;
}
