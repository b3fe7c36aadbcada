import { spawn } from 'node:child_process';
import { chmodSync, lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { API_TOKEN_MIN_CHARS, readApiToken } from '../src/api/api-token.js';
import { bearerChecker } from '../src/api/bearer-auth.js';
import { API_SOCKET_MODE } from '../src/api/socket-access.js';
import { Journal } from '../src/journal/index.js';
import { initNode } from '../src/app/init.js';
import { readJournalIdentity } from '../src/journal/file-identity.js';
import { freePort } from '../src/platform/free-port.js';
import { watchChild } from './support/child-output.js';
import { CLI, runCli } from './support/cli.js';
import { authorizationDraft } from './support/drafts.js';
import { nodeConfigIn } from './support/node.js';
import { type NodeProcess, lanesOverSocket, nodeConfigFile, startNodeProcess } from './support/node-process.js';
import { eventually } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

/*
 * The POS API on TCP moves money for any process on the box that can reach a loopback port, so
 * every request but the document itself carries the node's bearer token. Against real node
 * processes, as systemd starts them.
 */

const tempDir = useTempDir('edgepay-bearer-');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const READY_MS = 15_000;

function started(node: NodeProcess): NodeProcess {
  cleanups.push(() => node.kill());
  return node;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: any;
}

async function call(base: string, method: string, path: string, options: { authorization?: string; body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  return { status: response.status, headers: response.headers, json: await response.json() };
}

/** A new node on TCP, made with `edgepay node init` (which writes the token), its journal holding one approved payment. */
async function tcpNode() {
  const dir = tempDir();
  const [apiPort, statusPort] = [await freePort(), await freePort()];
  const file = await nodeConfigFile(dir, { api: { host: '127.0.0.1', port: apiPort, tokenFile: 'api.token' }, observability: { host: '127.0.0.1', port: statusPort } });
  const init = runCli(['node', 'init', '--config', file]);
  expect(init.status, init.stderr).toBe(0);
  const tokenFile = join(dir, 'api.token');
  expect(init.stdout).toContain(`POS API token ${tokenFile} (0600`);
  const journalPath = join(dir, 'data', 'journal.db');
  const journal = Journal.open({ path: journalPath, nodeId: 'box-1' });
  journal.append(authorizationDraft({ idempotencyKey: 'pos-1', amountMinor: 2_000 }));
  journal.close();
  const node = started(startNodeProcess(file));
  const base = `http://127.0.0.1:${apiPort}`;
  // The document is public: it answers as soon as the API listens.
  await eventually(async () => ((await fetch(`${base}/openapi.json`).catch(() => undefined))?.status === 200 ? true : undefined), READY_MS, `the node's API; stderr: ${node.stderr()}`);
  return { dir, file, base, token: readFileSync(tokenFile, 'utf8').trim(), tokenFile, journalPath, metricsUrl: `http://127.0.0.1:${statusPort}/metrics`, node };
}

const entries = (journalPath: string): number => readJournalIdentity(journalPath).entries;

describe('the POS API on TCP asks for the bearer token, against a real node process', () => {
  it('no token or a wrong one: 401 EDGEPAY_API_UNAUTHORIZED with WWW-Authenticate; the right one is served; refusals are counted', async () => {
    const { base, token, tokenFile, metricsUrl } = await tcpNode();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);

    const missing = await call(base, 'GET', '/v1/lanes');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="edgepay-pos"');
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    expect(missing.json).toEqual({ error: { code: 'EDGEPAY_API_UNAUTHORIZED', message: expect.stringContaining('Authorization: Bearer <token>') } });

    // Same length, one character off: refused all the same, and the answer shows nothing of the token.
    const near = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const authorization of [`Bearer ${near}`, `Bearer ${token}x`, 'Bearer short']) {
      const wrong = await call(base, 'GET', '/v1/lanes', { authorization });
      expect(wrong.status, authorization).toBe(401);
      expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="edgepay-pos", error="invalid_token"');
      expect(wrong.json.error.code).toBe('EDGEPAY_API_UNAUTHORIZED');
      expect(JSON.stringify(wrong.json)).not.toContain(token.slice(0, 8));
    }
    for (const authorization of [`Basic ${Buffer.from(`pos:${token}`).toString('base64')}`, token, 'Bearer']) {
      const other = await call(base, 'GET', '/v1/lanes', { authorization });
      expect(other.status, authorization).toBe(401);
      expect(other.headers.get('www-authenticate')).toBe('Bearer realm="edgepay-pos"');
    }
    // Unknown routes too: nobody learns which routes exist without the token.
    expect((await call(base, 'DELETE', '/v1/everything')).status).toBe(401);

    for (const authorization of [`Bearer ${token}`, `bearer ${token}`, `Bearer  ${token}`]) {
      const served = await call(base, 'GET', '/v1/lanes', { authorization });
      expect(served.status, authorization).toBe(200);
      expect(served.json).toEqual({ lanes: [] });
    }
    const document = await call(base, 'GET', '/openapi.json');
    expect(document.status).toBe(200);
    expect((await fetch(`${base}/openapi.json`, { method: 'HEAD' })).status).toBe(200);
    expect(document.json.components.securitySchemes.bearerToken).toMatchObject({ type: 'http', scheme: 'bearer' });

    const metrics = await (await fetch(metricsUrl)).text();
    // GET /v1/lanes without a token, DELETE /v1/everything, and the three headers that carry no bearer token.
    expect(metrics).toMatch(/^edgepay_api_unauthorized_total\{reason="missing"\} 5$/m);
    expect(metrics).toMatch(/^edgepay_api_unauthorized_total\{reason="wrong"\} 3$/m);
  }, 40_000);

  it('a refund, a void or a payment without the token is refused before anything is journaled; with it the refund goes through', async () => {
    const { base, token, journalPath } = await tcpNode();
    expect(entries(journalPath)).toBe(1);
    const refund = { idempotencyKey: 'rf-1', amountMinor: 500 };
    for (const authorization of [undefined, 'Bearer not-the-token-of-this-node-at-all-0123456789']) {
      const options = { body: refund, ...(authorization === undefined ? {} : { authorization }) };
      expect((await call(base, 'POST', '/v1/payments/pos-1/refunds', options)).status).toBe(401);
      expect((await call(base, 'POST', '/v1/payments/pos-1/void', { ...options, body: { idempotencyKey: 'vd-1' } })).status).toBe(401);
      expect((await call(base, 'POST', '/v1/payments/pos-1/cancel', options)).status).toBe(401);
      const payment = { lane: 'lane-1', amountMinor: 100, currency: 'EUR', reference: 'r', idempotencyKey: 'pos-2' };
      expect((await call(base, 'POST', '/v1/payments', { ...options, body: payment })).status).toBe(401);
      expect((await call(base, 'GET', '/v1/payments/pos-1', authorization === undefined ? {} : { authorization })).status).toBe(401);
    }
    expect(entries(journalPath)).toBe(1);

    // The same refund with the token: it would have moved money, and the key was still free.
    const done = await call(base, 'POST', '/v1/payments/pos-1/refunds', { body: refund, authorization: `Bearer ${token}` });
    expect(done.status).toBe(201);
    expect(done.json).toMatchObject({ kind: 'refund', paymentId: 'pos-1', amountMinor: 500, decision: { approved: true } });
    expect(entries(journalPath)).toBe(2);
  }, 40_000);
});

describe('the token file and the configuration, refused at start with the field or file named', () => {
  /** `edgepay node run` and `node check-config` on a configuration with `api` as given; both must refuse alike (exit 2). */
  async function refusal(dir: string, api: Record<string, unknown>): Promise<string> {
    const file = await nodeConfigFile(dir, { api });
    const run = runCli(['node', 'run', '--config', file]);
    expect(run.status, run.stderr).toBe(2);
    const check = runCli(['node', 'check-config', file]);
    expect(check.status).toBe(2);
    expect(check.stderr).toBe(run.stderr);
    return run.stderr;
  }

  it('no api.tokenFile with host and port', async () => {
    const stderr = await refusal(tempDir(), { host: '127.0.0.1', port: 0 });
    expect(stderr).toMatch(/EDGEPAY_BAD_INPUT: invalid node configuration [^\n]*node\.json:\s+api\.tokenFile: is needed when the POS API listens on TCP/);
  });

  it('a token shorter than 32 characters, an empty one, one with spaces', async () => {
    for (const [text, expected] of [
      ['short-token\n', /holds a token of 11 characters; at least 32 are needed/],
      ['\n', /is empty/],
      ['two words that make more than thirty-two characters\n', /printable ASCII characters without spaces/],
    ] as const) {
      const dir = tempDir();
      const tokenFile = join(dir, 'api.token');
      writeFileSync(tokenFile, text, { mode: 0o600 });
      const stderr = await refusal(dir, { host: '127.0.0.1', port: 0, tokenFile: 'api.token' });
      expect(stderr).toMatch(new RegExp(`EDGEPAY_BAD_INPUT: invalid node configuration [^\\n]*\\n  api\\.tokenFile: ${tokenFile} `));
      expect(stderr).toMatch(expected);
    }
  });

  it('a token file group or others may read (0644, 0640, 0604): the file, its mode and what is allowed', async () => {
    for (const mode of [0o644, 0o640, 0o604]) {
      const dir = tempDir();
      const tokenFile = join(dir, 'api.token');
      writeFileSync(tokenFile, `${'k'.repeat(43)}\n`);
      chmodSync(tokenFile, mode);
      const stderr = await refusal(dir, { host: '127.0.0.1', port: 0, tokenFile: 'api.token' });
      expect(stderr).toContain(`\n  api.tokenFile: ${tokenFile} has mode 0${mode.toString(8)}: group or others have access to it`);
      expect(stderr).toContain(`allowed: 0600 or 0400 (the node's user alone). chmod 600 ${tokenFile}`);
    }
  });

  it('a token file that is not there: init is named as the way to make one', async () => {
    const dir = tempDir();
    const file = await nodeConfigFile(dir, { api: { host: '127.0.0.1', port: 0, tokenFile: 'keys/api.token' } });
    const run = runCli(['node', 'run', '--config', file]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`\n  api.tokenFile: ${join(dir, 'keys', 'api.token')} does not exist: \`edgepay node init\` makes one`);
  });

  it('readApiToken: 0400 and a trailing newline are fine; the token is never in a message', () => {
    const file = join(tempDir(), 'token');
    const secret = 'S3cr3t-'.repeat(6);
    writeFileSync(file, `  ${secret}\n`, { mode: 0o400 });
    expect(readApiToken(file)).toBe(secret);
    chmodSync(file, 0o644);
    expect(() => readApiToken(file)).toThrow(expect.objectContaining({ code: 'EDGEPAY_API_TOKEN_INVALID', details: { file, mode: '0644' } }));
    writeFileSync(file, secret.slice(0, API_TOKEN_MIN_CHARS - 1));
    chmodSync(file, 0o600);
    let message = '';
    try {
      readApiToken(file);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/31 characters; at least 32/);
    expect(message).not.toContain(secret.slice(0, 10));
  });

  it("a systemd credential may show 0440 (systemd's ACL mask in the group bits), never anything for others", () => {
    const dir = tempDir();
    const file = join(dir, 'api.token');
    writeFileSync(file, 'c'.repeat(40), { mode: 0o400 });
    chmodSync(file, 0o440);
    const env = { CREDENTIALS_DIRECTORY: dir };
    expect(readApiToken(file, env)).toBe('c'.repeat(40));
    // The same mode outside the credentials directory is a group that can read it.
    expect(() => readApiToken(file, {})).toThrow(/has mode 0440: group or others have access/);
    for (const mode of [0o444, 0o460, 0o404]) {
      chmodSync(file, mode);
      expect(() => readApiToken(file, env)).toThrow(new RegExp(`has mode 0${mode.toString(8)}: .*allowed: 0400 or 0440 \\(as systemd makes a credential`));
    }
  });

  it('bearerChecker: only the exact token passes, whatever its length', () => {
    const check = bearerChecker('t'.repeat(40));
    expect(check(`Bearer ${'t'.repeat(40)}`)).toEqual({ ok: true });
    expect(check(undefined)).toMatchObject({ ok: false, reason: 'missing' });
    expect(check('   ')).toMatchObject({ ok: false, reason: 'missing' });
    expect(check(`Basic ${'t'.repeat(40)}`)).toMatchObject({ ok: false, reason: 'missing' });
    for (const sent of ['t'.repeat(39), 't'.repeat(41), `${'t'.repeat(39)}u`, '']) expect(check(`Bearer ${sent}`).ok, sent).toBe(false);
  });
});

describe('edgepay node init and the token file', () => {
  it('writes 32 random bytes as base64url with mode 0600, once: an existing token is kept as it is', async () => {
    const dir = tempDir();
    const config = await nodeConfigIn(dir, { api: { host: '127.0.0.1', port: 0, tokenFile: 'api.token' } });
    const result = initNode(config);
    const tokenFile = join(dir, 'api.token');
    expect(result.apiToken).toEqual({ file: tokenFile, created: true });
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(Buffer.from(token.trim(), 'base64url')).toHaveLength(32);

    const again = await nodeConfigIn(tempDir(), { api: { host: '127.0.0.1', port: 0, tokenFile } });
    expect(initNode(again).apiToken).toEqual({ file: tokenFile, created: false });
    expect(readFileSync(tokenFile, 'utf8')).toBe(token);
  });

  it('leaves a systemd credential to the operator, and writes nothing for a Unix socket', async () => {
    const dir = tempDir();
    const previous = process.env.CREDENTIALS_DIRECTORY;
    process.env.CREDENTIALS_DIRECTORY = dir;
    try {
      const config = await nodeConfigIn(dir, { dataDir: join(dir, 'node-data'), api: { host: '127.0.0.1', port: 0, tokenFile: 'credential:api.token' } });
      expect(initNode(config).apiToken).toEqual({ file: join(dir, 'api.token'), created: false });
      expect(() => statSync(join(dir, 'api.token'))).toThrow(/ENOENT/);
    } finally {
      if (previous === undefined) delete process.env.CREDENTIALS_DIRECTORY;
      else process.env.CREDENTIALS_DIRECTORY = previous;
    }
    const socket = await nodeConfigIn(tempDir(), { api: { socket: 'api.sock' } });
    expect(initNode(socket).apiToken).toBeUndefined();
  });
});

describe("the POS API on a Unix socket asks no token: the socket admits the node's user and group only", () => {
  it(`serves without a token, and its socket is mode 0${API_SOCKET_MODE.toString(8)} even under umask 000`, async () => {
    const dir = tempDir();
    const socket = join(dir, 'api.sock');
    const file = await nodeConfigFile(dir, { api: { socket } });
    expect(runCli(['node', 'init', '--config', file]).status).toBe(0);
    // The most permissive umask there is: without the node's own care the socket would be open to all.
    const child = spawn('/bin/sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, CLI, 'node', 'run', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    const { stderr, exited } = watchChild(child);
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    expect(await eventually(() => lanesOverSocket(socket), READY_MS, `the node on ${socket}; stderr: ${stderr()}`)).toBe('{"lanes":[]}');
    const stats = lstatSync(socket);
    expect(stats.isSocket()).toBe(true);
    expect(stats.mode & 0o777).toBe(0o660);
    expect(stats.mode & 0o007).toBe(0);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 40_000);
});
