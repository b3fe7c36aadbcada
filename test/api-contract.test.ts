import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { apiAuthHeaders } from '../src/api/client-auth.js';
import { withLuhnDigit } from '../src/card/index.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { LOOPBACK_API, newNodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();
const running: NodeRuntime[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.stop()));
});

async function nodeWithApi(lanes: { id: string; port: string; profile: string }[] = []) {
  const config = await newNodeConfigIn(tempDir(), { api: LOOPBACK_API, lanes });
  const node = await NodeRuntime.start({ config, registry: new Registry() });
  running.push(node);
  const base = node.apiAddress;
  const auth = apiAuthHeaders(config.api);
  const call = async (method: string, path: string, body?: unknown, raw?: string) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...auth, ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, any> };
  };
  return { node, call };
}

const payment = (overrides: Record<string, unknown> = {}) => ({ lane: 'lane-1', amountMinor: 1250, currency: 'EUR', reference: 'r-1', idempotencyKey: 'pos-1', ...overrides });

describe('POS API contract (no reader needed)', () => {
  it('publishes an OpenAPI 3.1 description of every route', async () => {
    const { call } = await nodeWithApi();
    const { status, json } = await call('GET', '/openapi.json');
    expect(status).toBe(200);
    expect(json.openapi).toBe('3.1.0');
    expect(Object.keys(json.paths).sort()).toEqual(['/openapi.json', '/v1/lanes', '/v1/payments', '/v1/payments/{id}', '/v1/payments/{id}/cancel', '/v1/payments/{id}/refunds', '/v1/payments/{id}/void'].sort());
    expect(json.paths['/v1/payments'].post.requestBody.content['application/json'].schema.required).toEqual(expect.arrayContaining(['lane', 'amountMinor', 'currency', 'reference', 'idempotencyKey']));
  });

  it('400 names every bad field with its value', async () => {
    const { call } = await nodeWithApi();
    const { status, json } = await call('POST', '/v1/payments', { lane: '', amountMinor: 12.5, currency: 'EURO', idempotencyKey: 'has space', extra: 1 });
    expect(status).toBe(400);
    expect(json.error.code).toBe('EDGEPAY_BAD_INPUT');
    const paths = json.error.problems.map((p: { path: string }) => p.path).sort();
    expect(paths).toEqual(['amountMinor', 'currency', 'extra', 'idempotencyKey', 'lane', 'reference']);
    expect(json.error.problems.find((p: { path: string }) => p.path === 'amountMinor').value).toBe(12.5);
  });

  it('400 for malformed JSON and for an unknown lane (named), 404 for unknown routes and payments', async () => {
    const { call } = await nodeWithApi();
    expect((await call('POST', '/v1/payments', undefined, '{"lane": ')).status).toBe(400);
    const unknownLane = await call('POST', '/v1/payments', payment({ lane: 'lane-9' }));
    expect(unknownLane.status).toBe(400);
    expect(unknownLane.json.error).toMatchObject({ code: 'EDGEPAY_LANE_UNKNOWN', problems: [{ path: 'lane', value: 'lane-9' }] });
    expect((await call('GET', '/v1/payments/none')).json.error.code).toBe('EDGEPAY_NOT_FOUND');
    expect((await call('GET', '/v1/payments/none')).status).toBe(404);
    expect((await call('POST', '/v1/payments/none/cancel')).status).toBe(404);
    expect((await call('POST', '/v1/payments/none/void', { idempotencyKey: 'v1' })).status).toBe(404);
    expect((await call('DELETE', '/v1/everything')).status).toBe(404);
  });

  it('503 with Retry-After when the lane has no working reader', async () => {
    const { call } = await nodeWithApi([{ id: 'lane-1', port: '/nonexistent/tty', profile: 'edgepay-sim' }]);
    const { status, headers, json } = await call('POST', '/v1/payments', payment());
    expect(status).toBe(503);
    expect(headers.get('retry-after')).toBe('1');
    expect(json.error.code).toBe('EDGEPAY_READER_UNAVAILABLE');
    const lanes = await call('GET', '/v1/lanes');
    expect(lanes.json.lanes[0]).toMatchObject({ id: 'lane-1', reader: { state: 'disconnected' }, busyWith: null });
  });

  it('a payment decided before a restart is answered from the journal, void and refund follow it', async () => {
    const { node, call } = await nodeWithApi();
    await node.pay({ idempotencyKey: 'pos-77', amountMinor: 2000, currency: 'EUR', card: { pan: withLuhnDigit('400000000000077'), expiryYymm: '2912' }, lane: 'lane-1', reference: 'r-77' });
    const got = await call('GET', '/v1/payments/pos-77');
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ id: 'pos-77', status: 'approved', amountMinor: 2000, currency: 'EUR', card: { last4: withLuhnDigit('400000000000077').slice(-4) }, journalSeq: 1 });
    const replay = await call('POST', '/v1/payments', payment({ idempotencyKey: 'pos-77', amountMinor: 2000, reference: 'r-77' }));
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json.journalSeq).toBe(1);
    const conflict = await call('POST', '/v1/payments', payment({ idempotencyKey: 'pos-77', amountMinor: 2001 }));
    expect(conflict.status).toBe(409);
    expect(conflict.json.error.code).toBe('EDGEPAY_IDEMPOTENCY_CONFLICT');
    expect((await call('POST', '/v1/payments/pos-77/cancel')).status).toBe(409);
    const refund = await call('POST', '/v1/payments/pos-77/refunds', { idempotencyKey: 'rf-1', amountMinor: 500 });
    expect(refund.status).toBe(201);
    expect(refund.json).toMatchObject({ kind: 'refund', paymentId: 'pos-77', amountMinor: 500, decision: { approved: true } });
    const refundAgain = await call('POST', '/v1/payments/pos-77/refunds', { idempotencyKey: 'rf-1', amountMinor: 500 });
    expect(refundAgain.status).toBe(200);
    const voided = await call('POST', '/v1/payments/pos-77/void', { idempotencyKey: 'vd-1' });
    expect(voided.status).toBe(201);
    expect(voided.json.decision.approved).toBe(false);
    expect((await call('POST', '/v1/payments/pos-77/refunds', { idempotencyKey: 'rf-2', amountMinor: 0 })).status).toBe(400);
  });

  it('refuses new payments with EDGEPAY_NODE_STOPPING once the node is stopping', async () => {
    const { node } = await nodeWithApi();
    const stopping = node.stop();
    running.splice(0);
    await expect(node.lanes.pay(payment())).rejects.toMatchObject({ code: 'EDGEPAY_NODE_STOPPING' });
    await stopping;
  });
});

describe('POS API on a Unix socket', () => {
  it('serves the same API on a socket path', async () => {
    const dir = tempDir();
    const config = await newNodeConfigIn(dir, { api: { socket: 'api.sock' } });
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    running.push(node);
    expect(node.apiAddress).toBe(`${dir}/api.sock`);
    const { request } = await import('node:http');
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ socketPath: node.apiAddress, path: '/v1/lanes', method: 'GET' }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    expect(JSON.parse(body)).toEqual({ lanes: [] });
  });
});
