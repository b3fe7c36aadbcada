import type { FastifyReply } from 'fastify';
import { BadInputError, type FieldProblem } from '../errors.js';

/** HTTP status for each error code the API can meet; anything else is a 500. */
const STATUS: Readonly<Record<string, number>> = {
  EDGEPAY_BAD_INPUT: 400,
  EDGEPAY_LANE_UNKNOWN: 400,
  EDGEPAY_CURRENCY_UNKNOWN: 400,
  EDGEPAY_NOT_FOUND: 404,
  EDGEPAY_LANE_BUSY: 409,
  EDGEPAY_IDEMPOTENCY_CONFLICT: 409,
  EDGEPAY_PAYMENT_NOT_CANCELLABLE: 409,
  EDGEPAY_READER_UNAVAILABLE: 503,
  EDGEPAY_NODE_STOPPING: 503,
  EDGEPAY_OVERLOADED: 503,
  EDGEPAY_ACTOR_OVERLOADED: 503,
  EDGEPAY_ACTOR_UNAVAILABLE: 503,
  EDGEPAY_ACTOR_DOWN: 503,
  EDGEPAY_ACTOR_TIMEOUT: 503,
};

export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'EDGEPAY_INTERNAL';
  const status = STATUS[code] ?? 500;
  const message = status === 500 ? 'internal error; the node logged the details' : (error as Error).message;
  const body: { error: { code: string; message: string; problems?: readonly FieldProblem[] } } = { error: { code, message } };
  if (error instanceof BadInputError) body.error.problems = error.problems;
  else if (code === 'EDGEPAY_LANE_UNKNOWN') body.error.problems = [{ path: 'lane', message, value: (error as { details: { value: unknown } }).details.value }];
  if (status === 503) void reply.header('retry-after', '1');
  return reply.code(status).send(body);
}
