import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAuthHeaders } from '../src/api/client-auth.js';
import { findJsonSyntaxFault } from '../src/api/json-body.js';
import { buildApiServer } from '../src/api/server.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { newNodeConfigIn } from './support/node.js';

/*
 * Every error of the POS API, from the HTTP parser up, in the documented shape. The parser-level
 * cases go over raw TCP so the bytes on the wire are exactly the broken ones (fetch would refuse to
 * send most of them).
 */

// One node for the whole file (useTempDir cleans up after each test, so the directory is made here).
let dir: string;
let node: NodeRuntime;
let host: string;
let port: number;
/** The node's bearer token header, which every request but the parser-level ones needs to get past the token check. */
let auth: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgepay-api-errors-'));
  const config = await newNodeConfigIn(dir, { api: { host: '127.0.0.1', port: 0, tokenFile: 'api.token' } });
  auth = apiAuthHeaders(config.api);
  node = await NodeRuntime.start({ config, registry: new Registry() });
  const url = new URL(node.apiAddress);
  host = url.hostname;
  port = Number(url.port);
});

afterAll(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  readonly json: any;
  /** Whether the server closed the connection after answering (waited for up to 2 s). */
  readonly closed: boolean;
}

/**
 * Sends `bytes` as they are and reads one HTTP/1.1 response (Content-Length framed). `Host: pos`
 * in a text request stands for the server's own address, the only Host it answers to, and the
 * node's bearer token.
 */
function raw(message: string | Buffer, options: { at?: { host: string; port: number }; endAfterWrite?: boolean } = {}): Promise<RawAnswer> {
  const at = options.at ?? { host, port };
  const bytes = typeof message === 'string' ? message.replace(/^Host: pos\r$/m, `Host: ${at.host}:${at.port}\r\nAuthorization: ${auth.authorization}\r`) : message;
  return new Promise((resolve, reject) => {
    const socket = connect(at.port, at.host);
    let received = Buffer.alloc(0);
    let answer: Omit<RawAnswer, 'closed'> | undefined;
    let closeTimer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean) => {
      clearTimeout(closeTimer);
      socket.destroy();
      if (answer) resolve({ ...answer, closed });
      else reject(new Error(`no complete response; got ${JSON.stringify(received.toString('latin1').slice(0, 200))}`));
    };
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (answer) return;
      const split = received.indexOf('\r\n\r\n');
      if (split < 0) return;
      const [statusLine = '', ...lines] = received.subarray(0, split).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      const length = Number(headers['content-length']);
      const body = received.subarray(split + 4);
      if (body.length < length) return;
      const text = body.subarray(0, length).toString('utf8');
      answer = { status: Number(statusLine.split(' ')[1]), headers, text, json: JSON.parse(text) };
      closeTimer = setTimeout(() => finish(false), 2_000);
    });
    socket.on('connect', () => {
      socket.write(bytes);
      if (options.endAfterWrite) socket.end();
    });
  });
}

const request = (head: string, body = '') => `${head.split('\n').join('\r\n')}\r\n\r\n${body}`;

/** The documented shape, exactly: `{ error: { code, message } }` and nothing else. */
function expectErrorShape(answer: RawAnswer, status: number, code: string): string {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(answer.json)).toEqual(['error']);
  expect(Object.keys(answer.json.error).sort()).toEqual(['code', 'message']);
  expect(answer.json.error.code).toBe(code);
  expect(typeof answer.json.error.message).toBe('string');
  return answer.json.error.message as string;
}

const validPayment = { lane: 'lane-1', amountMinor: 1250, currency: 'EUR', reference: 'r-1', idempotencyKey: 'pos-1' };

async function postJson(path: string, body: string, contentType = 'application/json') {
  const response = await fetch(`${node.apiAddress}${path}`, { method: 'POST', headers: { ...auth, 'content-type': contentType }, body });
  const text = await response.text();
  return { status: response.status, headers: Object.fromEntries(response.headers), text, json: JSON.parse(text) as any, closed: false };
}

describe('HTTP parser errors answer in the documented shape and close the connection', () => {
  it('a Content-Length that is not a number: 400 EDGEPAY_BAD_HTTP', async () => {
    const answer = await raw(request('POST /v1/payments HTTP/1.1\nHost: pos\nContent-Type: application/json\nContent-Length: 12abc', '{}'));
    const message = expectErrorShape(answer, 400, 'EDGEPAY_BAD_HTTP');
    expect(message).toMatch(/Content-Length/);
    expect(message).toContain('HPE_INVALID_CONTENT_LENGTH');
    expect(answer.headers.connection).toBe('close');
    expect(answer.closed).toBe(true);
  });

  it('both Content-Length and Transfer-Encoding: 400 EDGEPAY_BAD_HTTP naming both', async () => {
    const answer = await raw(request('POST /v1/payments HTTP/1.1\nHost: pos\nContent-Type: application/json\nContent-Length: 4\nTransfer-Encoding: chunked', '2\r\n{}\r\n0\r\n\r\n'));
    const message = expectErrorShape(answer, 400, 'EDGEPAY_BAD_HTTP');
    expect(message).toMatch(/both Content-Length and Transfer-Encoding/);
    expect(answer.closed).toBe(true);
  });

  it('a chunk size that is not hexadecimal: 400 EDGEPAY_BAD_HTTP', async () => {
    const answer = await raw(request('POST /v1/payments HTTP/1.1\nHost: pos\nContent-Type: application/json\nTransfer-Encoding: chunked', 'zz\r\n{}\r\n0\r\n\r\n'));
    const message = expectErrorShape(answer, 400, 'EDGEPAY_BAD_HTTP');
    expect(message).toContain('HPE_INVALID_CHUNK_SIZE');
    expect(answer.closed).toBe(true);
  });

  it('a garbage request line: 400 EDGEPAY_BAD_HTTP', async () => {
    const answer = await raw('HELLO THERE\r\n\r\n');
    const message = expectErrorShape(answer, 400, 'EDGEPAY_BAD_HTTP');
    expect(message).toMatch(/^the request line does not start with an HTTP method/);
    expect(answer.closed).toBe(true);
    const binary = await raw(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]));
    expectErrorShape(binary, 400, 'EDGEPAY_BAD_HTTP');
  });

  it('headers over 16 KiB: 431 EDGEPAY_HEADERS_TOO_LARGE stating the limit', async () => {
    const answer = await raw(request(`GET /v1/lanes HTTP/1.1\nHost: pos\nX-Filler: ${'a'.repeat(20 * 1024)}`));
    const message = expectErrorShape(answer, 431, 'EDGEPAY_HEADERS_TOO_LARGE');
    expect(message).toContain('16384 bytes (16 KiB)');
    expect(answer.closed).toBe(true);
  });

  it('a request that does not arrive in time: 408 EDGEPAY_REQUEST_TIMEOUT', async () => {
    const app = buildApiServer(node.lanes, { logger: pino({ level: 'silent' }), version: 'test', requestTimeoutMs: 300 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
      const started = Date.now();
      const answer = await raw('POST /v1/payments HTTP/1.1\r\nHost: pos\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"lane"', {
        at: { host: '127.0.0.1', port: address.port },
      });
      const message = expectErrorShape(answer, 408, 'EDGEPAY_REQUEST_TIMEOUT');
      expect(message).toBe('the request did not arrive in full within 300 ms');
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(answer.closed).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('a repeated Content-Length: 400 EDGEPAY_BAD_HTTP saying so', async () => {
    const answer = await raw(request('POST /v1/payments HTTP/1.1\nHost: pos\nContent-Type: application/json\nContent-Length: 2\nContent-Length: 3', '{}'));
    expect(expectErrorShape(answer, 400, 'EDGEPAY_BAD_HTTP')).toBe('Content-Length is given more than once (HPE_UNEXPECTED_CONTENT_LENGTH)');
  });

  it('a request arriving while the API closes: 503 EDGEPAY_NODE_STOPPING in the same shape', async () => {
    const app = buildApiServer(node.lanes, { logger: pino({ level: 'silent' }), version: 'test' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
    const socket = connect(address.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    // Half a request: the connection is busy, so closing the server leaves it open.
    socket.write('GET /v1/lanes HTTP/1.1\r\nHost: pos\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = app.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const received = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    socket.write('\r\n');
    const text = await received;
    await closed;
    expect(text).toMatch(/^HTTP\/1.1 503 /);
    expect(text).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'EDGEPAY_NODE_STOPPING', message: 'the node is stopping: the POS API takes no new requests' } });
  });

  it('a well-formed request on the same kind of raw socket is answered normally', async () => {
    const answer = await raw(request('GET /v1/lanes HTTP/1.1\nHost: pos\nConnection: close'));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ lanes: [] });
  });
});

describe('body errors answer in the documented shape with their own codes', () => {
  it('a __proto__ key is refused by name, not as "not valid JSON"', async () => {
    const top = await postJson('/v1/payments', '{"lane":"lane-1","__proto__":{"admin":true}}');
    const message = expectErrorShape(top, 400, 'EDGEPAY_FORBIDDEN_JSON_KEY');
    expect(message).toBe("the body has the key __proto__ at __proto__: keys that can change an object's prototype are refused");
    const nested = await postJson('/v1/payments/p-1/refunds', '{"idempotencyKey":"r-1","meta":{"constructor":{"prototype":{"x":1}}}}');
    expect(nested.json.error.code).toBe('EDGEPAY_FORBIDDEN_JSON_KEY');
    expect(nested.json.error.message).toContain('constructor.prototype at meta.constructor.prototype');
    const deep = await postJson('/v1/payments', `${'['.repeat(5_000)}{"__proto__":1}${']'.repeat(5_000)}`);
    expect(deep.json.error.code).toBe('EDGEPAY_FORBIDDEN_JSON_KEY');
    expect(deep.json.error.message).toBe(`the body has the key __proto__ at ${'0.'.repeat(32)}…: keys that can change an object's prototype are refused`);
  });

  it('malformed JSON says where it fails, without quoting the body', async () => {
    const cut = await postJson('/v1/payments', '{"lane": ');
    const message = expectErrorShape(cut, 400, 'EDGEPAY_BAD_JSON');
    expect(message).toBe('the body is not valid JSON: at line 1, column 10 (character 10) expected a value (object, array, string, number, true, false or null), found the end of the body');
    const lines = await postJson('/v1/payments', '{\n  "lane": "lane-1",\n  "amountMinor": 12,50\n}');
    expect(lines.json.error.message).toBe('the body is not valid JSON: at line 3, column 21 (character 43) expected a field name in double quotes, found "5"');
    const missingComma = await postJson('/v1/payments', '{"lane": "lane-1" "amountMinor": 1}');
    expect(missingComma.json.error.message).toBe("the body is not valid JSON: at line 1, column 19 (character 19) expected ',' or '}', found \"\\\"\"");
    const secret = await postJson('/v1/payments', '{"reference": "card 4111111111111111" oops}');
    expect(secret.json.error.code).toBe('EDGEPAY_BAD_JSON');
    expect(secret.text).not.toContain('4111');
    const empty = await postJson('/v1/payments', '');
    expect(empty.json.error).toEqual({ code: 'EDGEPAY_BAD_JSON', message: 'the body is empty: send a JSON object, or no Content-Type when there is no body' });
  });

  it('a body over 16 KiB: 413 EDGEPAY_BODY_TOO_LARGE stating the limit, also when chunked', async () => {
    const big = JSON.stringify({ ...validPayment, reference: 'x'.repeat(16 * 1024) });
    const declared = await postJson('/v1/payments', big);
    const message = expectErrorShape(declared, 413, 'EDGEPAY_BODY_TOO_LARGE');
    expect(message).toBe('the body is larger than 16384 bytes (16 KiB), the most this API takes');
    const chunk = big.slice(0, 17_000);
    const chunked = await raw(request('POST /v1/payments HTTP/1.1\nHost: pos\nContent-Type: application/json\nTransfer-Encoding: chunked', `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`));
    expectErrorShape(chunked, 413, 'EDGEPAY_BODY_TOO_LARGE');
    expect(chunked.closed).toBe(true);
  });

  it('a body that is not JSON: 415 EDGEPAY_UNSUPPORTED_MEDIA_TYPE naming application/json', async () => {
    const answer = await postJson('/v1/payments', 'lane=lane-1', 'application/x-www-form-urlencoded');
    const message = expectErrorShape(answer, 415, 'EDGEPAY_UNSUPPORTED_MEDIA_TYPE');
    expect(message).toBe('Content-Type "application/x-www-form-urlencoded" is not accepted: send the body as application/json');
    const text = await postJson('/v1/payments', JSON.stringify(validPayment), 'text/plain');
    expect(text.status).toBe(415);
  });

  it('an unknown route: 404 EDGEPAY_NOT_FOUND in the same shape', async () => {
    const response = await fetch(`${node.apiAddress}/v2/everything`, { method: 'DELETE', headers: auth });
    const json = (await response.json()) as any;
    expect(response.status).toBe(404);
    expect(json).toEqual({ error: { code: 'EDGEPAY_NOT_FOUND', message: 'no route DELETE /v2/everything; see /openapi.json' } });
  });

  it('a path with broken percent-encoding: 400 EDGEPAY_BAD_HTTP', async () => {
    const answer = await raw(request('GET /v1/payments/%zz HTTP/1.1\nHost: pos'));
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('EDGEPAY_BAD_HTTP');
  });
});

describe('a 400 does not echo its input', () => {
  it('a deeply nested value is described, not returned', async () => {
    let deep: unknown = 'SECRET-LEAF';
    for (let level = 0; level < 200; level += 1) deep = { [`level${level}`]: deep };
    const answer = await postJson('/v1/payments', JSON.stringify({ ...validPayment, amountMinor: deep, lane: ['a', 'b', 'c'] }));
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('EDGEPAY_BAD_INPUT');
    expect(answer.text).not.toContain('SECRET-LEAF');
    expect(answer.text).not.toContain('level1');
    expect(answer.text.length).toBeLessThan(1_000);
    const byPath = Object.fromEntries(answer.json.error.problems.map((p: { path: string }) => [p.path, p]));
    expect(byPath.amountMinor).toEqual({ path: 'amountMinor', message: 'must be a whole number of minor units from 1 to 999999999999 (1250 for 12.50 EUR)', received: 'an object with 1 key' });
    expect(byPath.lane).toMatchObject({ path: 'lane', received: 'an array of 3 items' });
    expect(byPath.lane).not.toHaveProperty('value');
  });

  it('a long string is cut to 64 characters with an ellipsis and its length stated', async () => {
    const answer = await postJson('/v1/payments', JSON.stringify({ ...validPayment, idempotencyKey: `${'k'.repeat(60)}${'z'.repeat(9_000)}` }));
    const problem = answer.json.error.problems.find((p: { path: string }) => p.path === 'idempotencyKey');
    expect(problem).toEqual({
      path: 'idempotencyKey',
      message: 'must be 1-128 printable ASCII characters without spaces (e.g. a UUID)',
      value: `${'k'.repeat(60)}zzzz…`,
      received: 'a string of 9060 characters',
    });
    expect(answer.text.length).toBeLessThan(1_000);
  });

  it('thousands of unknown fields are counted, and long field names cut', async () => {
    const body: Record<string, unknown> = { ...validPayment };
    for (let i = 0; i < 500; i += 1) body[`unknown-${i}-${'n'.repeat(10)}`] = i;
    body['L'.repeat(300)] = 1;
    const answer = await postJson('/v1/payments', JSON.stringify(body));
    const problems = answer.json.error.problems as { path: string; message: string }[];
    expect(problems).toHaveLength(21);
    expect(problems[20]).toEqual({ path: '', message: 'and 481 more problems not listed' });
    expect(answer.json.error.message.length).toBeLessThan(3_000);
    expect(answer.text).not.toContain('L'.repeat(65));
  });
});

describe('bounds the reader can carry', () => {
  const problemsOf = async (body: Record<string, unknown>, path = '/v1/payments') => {
    const answer = await postJson(path, JSON.stringify(body));
    return { status: answer.status, code: answer.json.error?.code as string, problems: (answer.json.error?.problems ?? []) as { path: string; message: string; value?: unknown }[] };
  };

  it('amountMinor is a whole number from 1 to 999999999999, for payments and refunds', async () => {
    for (const amountMinor of [0, -1, 12.5, 1e12, 2 ** 53, '1250']) {
      const { status, problems } = await problemsOf({ ...validPayment, amountMinor });
      expect(status).toBe(400);
      expect(problems).toEqual([{ path: 'amountMinor', message: 'must be a whole number of minor units from 1 to 999999999999 (1250 for 12.50 EUR)', value: amountMinor }]);
    }
    // At the bound the body is valid: what refuses it is the lane (this node has none).
    expect((await problemsOf({ ...validPayment, amountMinor: 999_999_999_999 })).code).toBe('EDGEPAY_LANE_UNKNOWN');
    const refund = await problemsOf({ idempotencyKey: 'rf-1', amountMinor: 1e12 }, '/v1/payments/pos-1/refunds');
    expect(refund.status).toBe(400);
    expect(refund.problems.map((p) => p.path)).toEqual(['amountMinor']);
  });

  it('currency, key, lane and reference have their bounds', async () => {
    const { problems } = await problemsOf({ lane: 'l'.repeat(33), amountMinor: 1, currency: 'XXX', reference: 'r'.repeat(129), idempotencyKey: 'k'.repeat(129) });
    expect(problems.map((p) => p.path).sort()).toEqual(['currency', 'idempotencyKey', 'lane', 'reference']);
    expect(problems.find((p) => p.path === 'currency')?.message).toMatch(/^must be an ISO 4217 code: one of AUD, .*EUR.*USD/);
    expect(problems.find((p) => p.path === 'lane')?.message).toMatch(/^must be a lane id: 1-32 /);
    const atBounds = await problemsOf({ ...validPayment, lane: 'l'.repeat(32), reference: 'é'.repeat(128), idempotencyKey: 'k'.repeat(128) });
    expect(atBounds.code).toBe('EDGEPAY_LANE_UNKNOWN');
  });

  it('a payment id of up to 128 characters reaches the handler, also percent-encoded', async () => {
    const id = `${'a'.repeat(120)}/?#%${'b'.repeat(4)}`;
    const response = await fetch(`${node.apiAddress}/v1/payments/${encodeURIComponent(id)}`, { headers: auth });
    const json = (await response.json()) as any;
    expect(response.status).toBe(404);
    expect(json.error.message).toBe(`no payment with id ${JSON.stringify(id)} on this node`);
    const tooLong = await fetch(`${node.apiAddress}/v1/payments/${'a'.repeat(129)}`, { headers: auth });
    expect(tooLong.status).toBe(400);
  });
});

describe('the JSON error locator', () => {
  it('finds a fault exactly when JSON.parse refuses', () => {
    const mutated = fc
      .tuple(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom('', ',', ':', '"', '{', '}', '[', ']', '0', '-', '.', 'e', ' ', '\\', '\n', 'x', 'tru', '\u0001')), { maxLength: 3 }))
      .map(([value, edits]) => {
        let text = JSON.stringify(value) ?? 'null';
        for (const [position, insert] of edits) {
          const at = position % (text.length + 1);
          text = insert === '' ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + insert + text.slice(at);
        }
        return text;
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string({ unit: 'binary', maxLength: 20 })), (text) => {
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        const fault = findJsonSyntaxFault(text);
        expect(fault === null).toBe(parses);
        if (fault) expect(fault.offset).toBeLessThanOrEqual(text.length);
      }),
      { numRuns: 5_000 },
    );
  });

  it('survives 16 KiB of nesting', () => {
    expect(findJsonSyntaxFault('['.repeat(16_384))).toMatchObject({ offset: 16_384, found: 'the end of the body' });
    expect(findJsonSyntaxFault(`${'['.repeat(8_000)}${']'.repeat(8_000)}`)).toBeNull();
  });
});
