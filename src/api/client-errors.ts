import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type ApiErrorCode, errorBody, statusOf } from './errors.js';

/*
 * Errors of Node's HTTP parser and request timers, before fastify sees a request: Node emits
 * 'clientError' with the socket and nothing else, and fastify's clientErrorHandler option is the
 * place to answer it. Without it the POS would get fastify's `{"error":"Bad Request"}`, the one
 * answer of this API not in its documented shape. There is no response object yet, so the answer
 * is written to the socket as raw HTTP/1.1, and the connection is closed: after a framing error
 * nothing more on it can be trusted to start where a request starts.
 */

/** What the parser's codes (llhttp's, plus Node's HPE_HEADER_OVERFLOW) mean for whoever sent the request. */
const PARSER_FAULTS: Readonly<Record<string, string>> = {
  HPE_INVALID_METHOD: 'the request line does not start with an HTTP method (e.g. POST)',
  HPE_INVALID_URL: 'the request target is not a valid path',
  HPE_INVALID_VERSION: 'the request line does not end with HTTP/1.1 (or HTTP/1.0)',
  HPE_INVALID_CONSTANT: 'the request line or a header is malformed',
  HPE_INVALID_HEADER_TOKEN: 'a header name or value holds a character HTTP does not allow',
  HPE_INVALID_CONTENT_LENGTH: 'Content-Length is not one whole number of bytes',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'the request has both Content-Length and Transfer-Encoding: send one of them',
  HPE_INVALID_TRANSFER_ENCODING: 'Transfer-Encoding must end with chunked',
  HPE_INVALID_CHUNK_SIZE: 'a chunk of the chunked body does not start with its size in hexadecimal',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'the chunk extensions of the chunked body are too long',
  HPE_STRICT: 'a line of the request does not end with CRLF',
  HPE_CR_EXPECTED: 'a line of the request does not end with CRLF',
  HPE_LF_EXPECTED: 'a line of the request does not end with CRLF',
  HPE_UNEXPECTED_SPACE: 'a space where HTTP allows none (e.g. before the colon of a header)',
  HPE_INVALID_EOF_STATE: 'the connection ended in the middle of a request',
};

/** How long a closing connection keeps reading (and dropping) what the client still sends. */
const LINGER_MS = 1_000;

export interface ClientErrorLimits {
  readonly headersLimitBytes: number;
  readonly requestTimeoutMs: number;
}

/** The code and words for a 'clientError', by Node's error code (and llhttp's fixed reason text). */
export function describeClientError(errorCode: string | undefined, reason: string | undefined, limits: ClientErrorLimits): { code: ApiErrorCode; message: string } {
  if (errorCode === 'HPE_HEADER_OVERFLOW') {
    return { code: 'EDGEPAY_HEADERS_TOO_LARGE', message: `the request line and headers are larger than ${limits.headersLimitBytes} bytes (${limits.headersLimitBytes / 1024} KiB), the most this API takes` };
  }
  if (errorCode === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { code: 'EDGEPAY_REQUEST_TIMEOUT', message: `the request did not arrive in full within ${limits.requestTimeoutMs} ms` };
  }
  // llhttp reports Content-Length with Transfer-Encoding under either code (by which header came
  // first), and a repeated Content-Length under the same code as the pair: its fixed reason tells.
  const fault = /duplicate content-length/i.test(reason ?? '')
    ? 'Content-Length is given more than once'
    : /can't be present with/i.test(reason ?? '')
      ? 'the request has both Content-Length and Transfer-Encoding: send one of them'
      : (errorCode && PARSER_FAULTS[errorCode]) || 'the request is not valid HTTP/1.1';
  return { code: 'EDGEPAY_BAD_HTTP', message: `${fault} (${errorCode ?? 'no code'})` };
}

/** A complete HTTP/1.1 response with the documented JSON error body, closing the connection. */
export function rawErrorResponse(code: ApiErrorCode, message: string): string {
  const status = statusOf(code);
  const body = JSON.stringify(errorBody(code, message));
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** The handler for fastify's `clientErrorHandler` option. */
export function clientErrorHandler(limits: ClientErrorLimits): (error: Error & { code?: string; reason?: string }, socket: Socket) => void {
  // The parser stays in its error state, and Node can report the same socket again as more bytes
  // arrive: one answer per connection.
  const answered = new WeakSet<Socket>();
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
    answered.add(socket);
    // Node's own rule (lib/_http_server.js): once a response on this connection has begun, raw bytes
    // would corrupt it; all that is left is to close.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (!socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const { code, message } = describeClientError(error.code, error.reason, limits);
    // end() rather than write()+destroy(): destroying with unread bytes in the kernel's buffer sends
    // an RST, and a client that is still sending may then lose the answer before reading it.
    socket.end(rawErrorResponse(code, message));
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  };
}
