import { request } from 'node:http';
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { apiAuthHeaders } from '../src/api/client-auth.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { isServedHost, servedHosts } from '../src/platform/served-hosts.js';
import { LOOPBACK_API, newNodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

/*
 * DNS rebinding: a page in the box's browser makes it send requests to 127.0.0.1 under a name the
 * page's owner controls. The Host header still carries that name, so the local servers refuse it.
 */

const tempDir = useTempDir();
const running: NodeRuntime[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((node) => node.stop()));
});

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** A GET with the Host header set as a browser would set it for `host`. */
function get(target: { socketPath: string } | { port: number }, path: string, host: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ ...('port' in target ? { host: '127.0.0.1', port: target.port } : target), path, method: 'GET', headers: { ...headers, host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function nodeOnTcp() {
  const config = await newNodeConfigIn(tempDir(), { api: LOOPBACK_API, observability: { host: '127.0.0.1', port: 0 } });
  const node = await NodeRuntime.start({ config, registry: new Registry() });
  running.push(node);
  return { api: Number(new URL(node.apiAddress).port), auth: apiAuthHeaders(config.api), observability: Number(new URL(node.observabilityAddress).port) };
}

describe('the local servers answer only requests addressed to them', () => {
  it('the POS API refuses a foreign Host with 403 EDGEPAY_HOST_NOT_ALLOWED and serves its own addresses', async () => {
    const { api, auth } = await nodeOnTcp();
    // Refused whatever the token: a page cannot have it, and the Host check comes first.
    for (const host of ['attacker.example', `attacker.example:${api}`, `127.0.0.1:${api + 1}`, `localhost.attacker.example:${api}`]) {
      const refused = await get({ port: api }, '/v1/lanes', host, auth);
      expect(refused.status, host).toBe(403);
      const body = JSON.parse(refused.body);
      expect(body.error.code).toBe('EDGEPAY_HOST_NOT_ALLOWED');
      expect(body.error.message).toContain(`127.0.0.1:${api}`);
    }
    // Refused before any route: a payment through a rebound name never reaches the lanes.
    expect((await get({ port: api }, '/v1/payments/p-1', `evil.example:${api}`, auth)).status).toBe(403);
    for (const host of [`127.0.0.1:${api}`, `localhost:${api}`, `LOCALHOST:${api}`]) {
      const served = await get({ port: api }, '/v1/lanes', host, auth);
      expect(served.status, host).toBe(200);
      expect(JSON.parse(served.body)).toEqual({ lanes: [] });
    }
  });

  it('the status page, health and metrics refuse a foreign Host and serve their own', async () => {
    const { observability } = await nodeOnTcp();
    for (const path of ['/', '/status.json', '/health', '/metrics']) {
      const refused = await get({ port: observability }, path, `rebound.example:${observability}`);
      expect(refused.status, path).toBe(403);
      expect(JSON.parse(refused.body).error.code).toBe('EDGEPAY_HOST_NOT_ALLOWED');
      expect(refused.body).not.toContain('edgepay_');
    }
    expect((await get({ port: observability }, '/health', `localhost:${observability}`)).status).toBe(200);
    const status = await get({ port: observability }, '/status.json', `127.0.0.1:${observability}`);
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body)).toHaveProperty('nodeId');
  });

  it("the POS API on a Unix socket, out of a browser's reach, takes any Host", async () => {
    const dir = tempDir();
    const config = await newNodeConfigIn(dir, { api: { socket: 'api.sock' } });
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    running.push(node);
    const answer = await get({ socketPath: node.apiAddress }, '/v1/lanes', 'localhost');
    expect(answer.status).toBe(200);
  });
});

describe('which Host values name a server', () => {
  it('loopback: the address and localhost with the port; port 80 also without it; IPv6 in brackets', () => {
    expect([...servedHosts({ address: '127.0.0.1', family: 'IPv4', port: 9464 })].sort()).toEqual(['127.0.0.1:9464', 'localhost:9464']);
    expect([...servedHosts({ address: '::1', family: 'IPv6', port: 80 })].sort()).toEqual(['[::1]', '[::1]:80', 'localhost', 'localhost:80']);
    const served = servedHosts({ address: '127.0.0.1', family: 'IPv4', port: 8080 });
    expect(isServedHost(' LocalHost:8080 ', served)).toBe(true);
    expect(isServedHost(undefined, served)).toBe(false);
    expect(isServedHost('localhost', served)).toBe(false);
    expect(isServedHost('127.0.0.1:8080.attacker.example', served)).toBe(false);
  });

  it('all addresses: every address of the machine and its own host name, with the port', () => {
    const served = servedHosts({ address: '0.0.0.0', family: 'IPv4', port: 9464 });
    expect(served.has('127.0.0.1:9464')).toBe(true);
    expect(served.has(`${hostname().toLowerCase()}:9464`)).toBe(true);
    expect(served.has('attacker.example:9464')).toBe(false);
  });
});
