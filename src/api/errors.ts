import type { FastifyReply, FastifyRequest } from 'fastify';
import { BadInputError } from '../errors.js';
import { type PublicProblem, cutText, problemsToShow, publicProblems } from './problems.js';

/**
 * Every error code the POS API answers with: its HTTP status and what it means. One table serves
 * the handlers, the HTTP-level errors and the OpenAPI description; a code not listed is a 500.
 */
export const API_ERRORS = {
  EDGEPAY_BAD_HTTP: { status: 400, meaning: 'the request is not well-formed HTTP/1.1 (request line, Content-Length, Transfer-Encoding, chunking, path encoding); the connection is closed' },
  EDGEPAY_BAD_JSON: { status: 400, meaning: 'the body is not JSON (or is empty); the message says at which line and column' },
  EDGEPAY_FORBIDDEN_JSON_KEY: { status: 400, meaning: 'the body has a __proto__ or constructor.prototype key; the message names where' },
  EDGEPAY_BAD_INPUT: { status: 400, meaning: 'a field is missing, unknown or out of bounds; problems names every bad field' },
  EDGEPAY_LANE_UNKNOWN: { status: 400, meaning: 'no such lane on this node' },
  EDGEPAY_CURRENCY_UNKNOWN: { status: 400, meaning: 'the currency is not one this node takes' },
  EDGEPAY_API_UNAUTHORIZED: { status: 401, meaning: "on TCP, the request has no Authorization: Bearer header, or its token is not the node's (api.tokenFile); WWW-Authenticate says which. Nothing was done" },
  EDGEPAY_HOST_NOT_ALLOWED: { status: 403, meaning: 'the Host header does not name this API (an address it listens on, or localhost, with its port); the message lists those it answers to' },
  EDGEPAY_NOT_FOUND: { status: 404, meaning: 'no such payment, or no such route' },
  EDGEPAY_REQUEST_TIMEOUT: { status: 408, meaning: 'the request did not arrive in full in time; the connection is closed' },
  EDGEPAY_LANE_BUSY: { status: 409, meaning: 'the lane is taking another payment' },
  EDGEPAY_IDEMPOTENCY_CONFLICT: { status: 409, meaning: 'the idempotency key was used for a different request' },
  EDGEPAY_PAYMENT_NOT_CANCELLABLE: { status: 409, meaning: 'the payment is past the card stage (void it instead)' },
  EDGEPAY_BODY_TOO_LARGE: { status: 413, meaning: 'the body is larger than the limit stated in the message; the connection is closed' },
  EDGEPAY_UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'a body was sent with a Content-Type other than application/json' },
  EDGEPAY_HEADERS_TOO_LARGE: { status: 431, meaning: 'the request line and headers are larger than the limit stated in the message; the connection is closed' },
  EDGEPAY_INTERNAL: { status: 500, meaning: 'a fault in the node; it logged the details' },
  EDGEPAY_READER_UNAVAILABLE: { status: 503, meaning: 'the lane has no working reader (retry after Retry-After)' },
  EDGEPAY_NODE_STOPPING: { status: 503, meaning: 'the node is stopping' },
  EDGEPAY_OVERLOADED: { status: 503, meaning: 'the node is overloaded (retry after Retry-After)' },
  EDGEPAY_ACTOR_OVERLOADED: { status: 503, meaning: 'a part of the node is overloaded (retry after Retry-After)' },
  EDGEPAY_ACTOR_UNAVAILABLE: { status: 503, meaning: 'a part of the node is restarting (retry after Retry-After)' },
  EDGEPAY_ACTOR_DOWN: { status: 503, meaning: 'a part of the node is down (retry after Retry-After)' },
  EDGEPAY_ACTOR_TIMEOUT: { status: 503, meaning: 'a part of the node did not answer in time (retry after Retry-After)' },
  EDGEPAY_JOURNAL_FULL: { status: 503, meaning: "the node's disk is full: nothing was started, and the key is still free (retry after Retry-After)" },
  EDGEPAY_JOURNAL_READONLY: { status: 503, meaning: "the node's storage is read-only: nothing was started, and the key is still free" },
  EDGEPAY_JOURNAL_LOCKED: { status: 503, meaning: "the node's storage is locked by another process: nothing was started, and the key is still free" },
  EDGEPAY_JOURNAL_IO: { status: 503, meaning: "the node's storage failed: nothing was started, and the key is still free" },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** The documented error body: `{ error: { code, message, problems? } }`. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly problems?: readonly PublicProblem[] };
}

export function errorBody(code: ApiErrorCode, message: string, problems?: readonly PublicProblem[]): ErrorBody {
  return { error: { code, message, ...(problems === undefined ? {} : { problems }) } };
}

export function statusOf(code: string): number {
  return Object.hasOwn(API_ERRORS, code) ? API_ERRORS[code as ApiErrorCode].status : 500;
}

export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const raised = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  const code: ApiErrorCode = Object.hasOwn(API_ERRORS, raised) ? (raised as ApiErrorCode) : 'EDGEPAY_INTERNAL';
  const status = statusOf(code);
  if (status === 500) {
    reply.log.error({ err: error }, 'POS API request failed');
    return reply.code(500).send(errorBody('EDGEPAY_INTERNAL', 'internal error; the node logged the details'));
  }
  const message = (error as Error).message;
  let problems: readonly PublicProblem[] | undefined;
  if (error instanceof BadInputError) problems = problemsToShow(error);
  else if (code === 'EDGEPAY_LANE_UNKNOWN') problems = publicProblems([{ path: 'lane', message, value: (error as { details?: { value?: unknown } }).details?.value }]);
  if (status === 503) void reply.header('retry-after', '1');
  // After a framing error or an oversize body the rest of the connection's bytes cannot be trusted
  // (or are not worth reading): answer, then close.
  if (code === 'EDGEPAY_BAD_HTTP' || code === 'EDGEPAY_BODY_TOO_LARGE') void reply.header('connection', 'close');
  return reply.code(status).send(errorBody(code, message, problems));
}

/**
 * Fastify's own errors raised before a handler runs (body size, content type, URL encoding, a path
 * parameter too long for any payment id) in this API's codes and words, ready for sendError; null
 * for anything else. The limits are stated in the messages.
 */
export function fromFastifyError(
  error: { code?: string; statusCode?: number; message: string },
  request: FastifyRequest,
  limits: { readonly bodyLimitBytes: number; readonly idMaxLength: number },
): { code: ApiErrorCode; message: string } | BadInputError | null {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'EDGEPAY_BODY_TOO_LARGE', message: `the body is larger than ${limits.bodyLimitBytes} bytes (${limits.bodyLimitBytes / 1024} KiB), the most this API takes` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const sent = request.headers['content-type'];
      return { code: 'EDGEPAY_UNSUPPORTED_MEDIA_TYPE', message: `Content-Type ${JSON.stringify(cutText(String(sent ?? '')))} is not accepted: send the body as application/json` };
    }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'EDGEPAY_BAD_HTTP', message: 'the body is not as long as its Content-Length says' };
    case 'FST_ERR_BAD_URL':
      return { code: 'EDGEPAY_BAD_HTTP', message: 'the path is not valid percent-encoding' };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new BadInputError('payment id', [{ path: '', message: `must be 1-${limits.idMaxLength} characters (${3 * limits.idMaxLength} when percent-encoded)` }]);
    default:
      // Any other 4xx of fastify's is about the request's form, not its content.
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return { code: 'EDGEPAY_BAD_HTTP', message: error.message };
      return null;
  }
}
