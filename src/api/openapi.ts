import { z } from 'zod';
import { BEARER_REALM } from './bearer-auth.js';
import { API_ERRORS, type ApiErrorCode } from './errors.js';
import { createPaymentBody, errorResource, followUpResource, paymentIdParam, paymentResource, refundBody, voidBody } from './schemas.js';

/** The limits the server enforces, stated in the document as the server has them. */
export interface DocumentLimits {
  readonly bodyLimitBytes: number;
  readonly headersLimitBytes: number;
  readonly requestTimeoutMs: number;
}

const schemaOf = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
const json = (schema: z.ZodType) => ({ 'application/json': { schema: schemaOf(schema) } });

function codesWith(status: number): string {
  return (Object.keys(API_ERRORS) as ApiErrorCode[])
    .filter((code) => API_ERRORS[code].status === status)
    .map((code) => `${code}: ${API_ERRORS[code].meaning}`)
    .join('; ');
}

/** An error response: what it means on this operation, then every code it can carry. */
function error(status: number, description: string) {
  return { [status]: { description: `${description}. Codes: ${codesWith(status)}`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } };
}

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** How callers are told apart: a bearer token on TCP; on a Unix socket, the socket's owner and mode. */
export interface DocumentAccess {
  readonly bearer: boolean;
}

/** The name of the security scheme in the document. */
export const BEARER_SCHEME = 'bearerToken';

/** The published OpenAPI 3.1 description of the POS API, generated from the schemas the handlers validate with. */
export function openApiDocument(version: string, limits: DocumentLimits, access: DocumentAccess): Record<string, unknown> {
  /** Answers any request can get, from the HTTP layer up (and the token check, where there is one). */
  const anyRequest = { ...(access.bearer ? { '401': ref('Unauthorized') } : {}), '408': ref('RequestTimeout'), '431': ref('HeadersTooLarge'), '500': ref('Internal') };
  /** Answers a request with a body can get besides. */
  const withBody = { ...anyRequest, '413': ref('BodyTooLarge'), '415': ref('UnsupportedMediaType') };
  const bodyLimit = `${limits.bodyLimitBytes} bytes (${limits.bodyLimitBytes / 1024} KiB)`;
  const body = (schema: z.ZodType) => ({ required: true, description: `a JSON object, Content-Type application/json, at most ${bodyLimit}`, content: json(schema) });
  const idParam = [{ name: 'id', in: 'path', required: true, description: 'the payment id: the idempotency key the POS chose', schema: schemaOf(paymentIdParam) }];
  return {
    openapi: '3.1.0',
    info: {
      title: 'edgepay POS payment API',
      version,
      description: [
        'Local API of one edgepay node (loopback or Unix socket). Amounts are integer minor units with an ISO 4217 currency.',
        access.bearer
          ? "On TCP every request except GET /openapi.json carries Authorization: Bearer <token>, the token in the node's api.tokenFile; without it, or with another, the answer is 401 EDGEPAY_API_UNAUTHORIZED with WWW-Authenticate: Bearer, and nothing is done."
          : "On a Unix socket no token is asked for: the socket (mode 0660) admits the node's user and group only.",
        "The POS chooses each payment's idempotency key; repeating a request with the same key returns the original answer (200 + Idempotent-Replayed: true).",
        `Limits: a request body is JSON (Content-Type application/json) of at most ${bodyLimit}; the request line and headers at most ${limits.headersLimitBytes} bytes; a request must arrive in full within ${limits.requestTimeoutMs} ms.`,
        'Every error, from the HTTP parser up, is {"error":{"code":"EDGEPAY_…","message":"…"}} with problems[] for bad fields (see components.schemas.Error).',
        'After EDGEPAY_BAD_HTTP, EDGEPAY_HEADERS_TOO_LARGE, EDGEPAY_REQUEST_TIMEOUT and EDGEPAY_BODY_TOO_LARGE the server closes the connection.',
        `Error codes: ${(Object.keys(API_ERRORS) as ApiErrorCode[]).map((code) => `${code} (${API_ERRORS[code].status}): ${API_ERRORS[code].meaning}`).join('; ')}.`,
      ].join(' '),
    },
    'x-edgepay-limits': { ...limits },
    ...(access.bearer ? { security: [{ [BEARER_SCHEME]: [] }] } : {}),
    paths: {
      '/v1/payments': {
        post: {
          summary: 'Take a payment on a lane: start the reader, wait for the card, authorize (durably), show the result, answer',
          requestBody: body(createPaymentBody),
          responses: {
            '201': { description: 'the payment, decided (approved/declined) or ended without a decision (cancelled/failed)', content: json(paymentResource) },
            '200': { description: 'a repeated request: the original payment', content: json(paymentResource) },
            ...error(400, 'bad input: every bad field is named in problems; or a body that is not JSON, or not HTTP'),
            ...error(409, 'the lane is busy with another payment, or the idempotency key was used for a different payment'),
            ...error(503, 'the lane has no working reader, or the node is stopping or overloaded (Retry-After)'),
            ...withBody,
          },
        },
      },
      '/v1/payments/{id}': {
        get: {
          summary: 'A payment by id, also after a restart (from the journal)',
          parameters: idParam,
          responses: { '200': { description: 'the payment', content: json(paymentResource) }, ...error(400, 'the id is not a valid idempotency key'), ...error(404, 'no such payment'), ...anyRequest },
        },
      },
      '/v1/payments/{id}/cancel': {
        post: {
          summary: 'Cancel a payment still waiting for its card',
          parameters: idParam,
          responses: {
            '200': { description: 'the cancelled payment', content: json(paymentResource) },
            ...error(400, 'the id is not a valid idempotency key'),
            ...error(404, 'no such payment'),
            ...error(409, 'the payment is past the card stage (void an approved payment instead)'),
            ...anyRequest,
          },
        },
      },
      '/v1/payments/{id}/void': {
        post: {
          summary: 'Void (reverse) an approved payment in full',
          parameters: idParam,
          requestBody: body(voidBody),
          responses: {
            '201': { description: 'the void and its decision', content: json(followUpResource) },
            '200': { description: 'a repeated request: the original void', content: json(followUpResource) },
            ...error(400, 'bad input'),
            ...error(404, 'no such payment'),
            ...error(409, 'the idempotency key was used for something else'),
            ...error(503, 'the node is stopping or overloaded (Retry-After)'),
            ...withBody,
          },
        },
      },
      '/v1/payments/{id}/refunds': {
        post: {
          summary: 'Refund part or all of an approved payment',
          parameters: idParam,
          requestBody: body(refundBody),
          responses: {
            '201': { description: 'the refund and its decision', content: json(followUpResource) },
            '200': { description: 'a repeated request: the original refund', content: json(followUpResource) },
            ...error(400, 'bad input'),
            ...error(404, 'no such payment'),
            ...error(409, 'the idempotency key was used for something else'),
            ...error(503, 'the node is stopping or overloaded (Retry-After)'),
            ...withBody,
          },
        },
      },
      '/v1/lanes': {
        get: { summary: 'The lanes of this node and their readers', responses: { '200': { description: 'lanes with reader status' }, ...anyRequest } },
      },
      '/openapi.json': { get: { summary: 'This document', ...(access.bearer ? { security: [] } : {}), responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
    components: {
      schemas: { Error: schemaOf(errorResource) },
      ...(access.bearer
        ? {
            securitySchemes: {
              [BEARER_SCHEME]: {
                type: 'http',
                scheme: 'bearer',
                description: "the token in the node's api.tokenFile (at least 32 characters; `edgepay node init` writes 32 random bytes as base64url), sent as Authorization: Bearer <token>",
              },
            },
          }
        : {}),
      responses: {
        ...(access.bearer
          ? {
              Unauthorized: {
                ...error(401, "no bearer token, or not the node's: nothing was done")[401],
                headers: { 'WWW-Authenticate': { description: `Bearer realm="${BEARER_REALM}", with error="invalid_token" when a token was sent`, schema: { type: 'string' } } },
              },
            }
          : {}),
        RequestTimeout: error(408, `the request did not arrive in full within ${limits.requestTimeoutMs} ms`)[408],
        HeadersTooLarge: error(431, `the request line and headers are larger than ${limits.headersLimitBytes} bytes`)[431],
        BodyTooLarge: error(413, `the body is larger than ${bodyLimit}`)[413],
        UnsupportedMediaType: error(415, 'a body with a Content-Type other than application/json')[415],
        Internal: error(500, 'a fault in the node')[500],
      },
    },
  };
}
