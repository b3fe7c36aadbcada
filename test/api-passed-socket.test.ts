import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { addressMismatch, passedApiSocket } from '../src/api/passed-socket.js';
import { NODE_RESTART_DELAY_MS } from '../src/chaos/faults.js';
import { EXIT } from '../src/cli/exit-codes.js';
import type { StoreNode } from '../src/rigs/store/store-node.js';
import { freePort } from '../src/platform/free-port.js';
import { FIRST_PASSED_FD, forgetPassedSockets, passedSocketNamed, passedSockets } from '../src/platform/passed-sockets.js';
import { HeldSocket, spawnWithSocket } from '../src/rigs/network/held-socket.js';
import { STORE_PROGRAM } from './support/cli.js';
import { newNodeConfigIn } from './support/node.js';
import { startLoneBox } from './support/lone-box.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-passed-socket-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('sockets handed over by the service manager (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES)', () => {
  it('are ours only when LISTEN_PID names this process', () => {
    expect(passedSockets({ LISTEN_FDS: '1' }, 42)).toEqual([]);
    expect(passedSockets({ LISTEN_PID: '41', LISTEN_FDS: '1' }, 42)).toEqual([]);
    expect(passedSockets({ LISTEN_PID: '42', LISTEN_FDS: '2', LISTEN_FDNAMES: 'api:metrics' }, 42)).toEqual([
      { fd: FIRST_PASSED_FD, name: 'api' },
      { fd: FIRST_PASSED_FD + 1, name: 'metrics' },
    ]);
    expect(passedSockets({ LISTEN_PID: '42', LISTEN_FDS: '1' }, 42)).toEqual([{ fd: FIRST_PASSED_FD, name: null }]);
  });

  it('any count and names systemd can pass read back as fds from 3 on, in order', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9_.-]{1,16}$/);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(name, { minLength: 1, maxLength: 64 }), (pid, names) => {
        const sockets = passedSockets({ LISTEN_PID: String(pid), LISTEN_FDS: String(names.length), LISTEN_FDNAMES: names.join(':') }, pid);
        expect(sockets.map((s) => s.fd)).toEqual(names.map((_, i) => FIRST_PASSED_FD + i));
        expect(sockets.map((s) => s.name)).toEqual(names);
      }),
    );
  });

  it.each([
    [{ LISTEN_FDS: undefined }, 'LISTEN_FDS=(unset): must be a whole number from 1 to 64'],
    [{ LISTEN_FDS: '0' }, 'LISTEN_FDS=0: must be a whole number from 1 to 64'],
    [{ LISTEN_FDS: '1.5' }, 'LISTEN_FDS=1.5: must be'],
    [{ LISTEN_FDS: ' 1' }, 'LISTEN_FDS= 1: must be'],
    [{ LISTEN_FDS: '65' }, 'LISTEN_FDS=65: must be'],
    [{ LISTEN_FDS: '2', LISTEN_FDNAMES: 'api' }, 'LISTEN_FDNAMES=api: must name each of the 2 sockets of LISTEN_FDS'],
  ])('meant for us but malformed (%j) is refused, naming the variable and its value', (env, message) => {
    expect(() => passedSockets(Object.assign({ LISTEN_PID: '7', LISTEN_FDS: '1' }, env), 7)).toThrow(expect.objectContaining({ code: 'EDGEPAY_BAD_INPUT', message: expect.stringContaining(message) }));
  });

  it('the API takes the socket named api, or the only one; several without api are refused rather than guessed', () => {
    expect(passedSocketNamed([], 'api')).toBeUndefined();
    expect(passedSocketNamed([{ fd: 3, name: 'edgepay-node.socket' }], 'api')).toEqual({ fd: 3, name: 'edgepay-node.socket' });
    expect(
      passedSocketNamed(
        [
          { fd: 3, name: 'metrics' },
          { fd: 4, name: 'api' },
        ],
        'api',
      ),
    ).toEqual({ fd: 4, name: 'api' });
    expect(() =>
      passedSocketNamed(
        [
          { fd: 3, name: 'a' },
          { fd: 4, name: 'b' },
        ],
        'api',
      ),
    ).toThrow(/LISTEN_FDNAMES=a:b: names 2 sockets and none of them "api"/);
  });

  it('are taken out of the environment once read, so nothing the node starts believes they are its own', () => {
    const env: Record<string, string | undefined> = { LISTEN_PID: '9', LISTEN_FDS: '1', LISTEN_FDNAMES: 'api', PATH: '/usr/bin' };
    expect(passedApiSocket(env, 9)).toEqual({ fd: 3, name: 'api' });
    expect(env).toEqual({ PATH: '/usr/bin' });
    // Another process's variables are cleared too: they were never ours to pass on.
    const inherited: Record<string, string | undefined> = { LISTEN_PID: '8', LISTEN_FDS: '1' };
    expect(passedApiSocket(inherited, 9)).toBeUndefined();
    forgetPassedSockets(inherited);
    expect(inherited).toEqual({});
  });

  it('must be where the configuration puts the API', () => {
    const api = { host: '127.0.0.1', port: 8080, tokenFile: 'api.token' } as const;
    expect(addressMismatch({ address: '127.0.0.1', family: 'IPv4', port: 8080 }, api)).toBeNull();
    expect(addressMismatch({ address: '127.0.0.1', family: 'IPv4', port: 8081 }, api)).toBe('is 127.0.0.1:8081, but api is 127.0.0.1:8080');
    expect(addressMismatch({ address: '0.0.0.0', family: 'IPv4', port: 8080 }, api)).toBe('is 0.0.0.0:8080, but api is 127.0.0.1:8080');
    expect(addressMismatch({ address: '::1', family: 'IPv6', port: 8080 }, { ...api, host: 'localhost' })).toBeNull();
    expect(addressMismatch({ address: '10.0.0.5', family: 'IPv4', port: 8080 }, { ...api, host: 'localhost' })).toBe('is 10.0.0.5:8080, but api is localhost:8080');
    expect(addressMismatch('/run/edgepay-api/api.sock', api)).toBe('is the Unix socket /run/edgepay-api/api.sock, but api is 127.0.0.1:8080');
    expect(addressMismatch('/run/edgepay-api/api.sock', { socket: '/run/edgepay-api/api.sock' })).toBeNull();
    expect(addressMismatch({ address: '127.0.0.1', family: 'IPv4', port: 8080 }, { socket: '/run/a.sock' })).toBe('is 127.0.0.1:8080, but api.socket is /run/a.sock');
  });
});

describe('a node process on a socket held across its restarts', () => {
  async function box(): Promise<StoreNode> {
    const node = await startLoneBox(tempDir(), 7);
    cleanups.push(() => node.stop());
    return node;
  }

  async function pay(node: StoreNode, key: string): Promise<{ status: number; decision: { approved: boolean } | null }> {
    const response = await fetch(`${node.apiUrl}/v1/payments`, {
      method: 'POST',
      headers: { ...node.apiHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ lane: 'lane-1', amountMinor: 1_000, currency: 'EUR', reference: key, idempotencyKey: key }),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: response.status, decision: ((await response.json()) as { decision: { approved: boolean } | null }).decision };
  }

  it('a POS request made while the node is dead or its box boots waits in the socket and the node decides it; a box without power refuses', async () => {
    const node = await box();
    expect((await pay(node, 'before')).decision).toMatchObject({ approved: true });

    await node.kill();
    const sentAt = Date.now();
    const waiting = pay(node, 'while-dead');
    // Not refused: still waiting when systemd would start the node again.
    const early = await Promise.race([
      waiting.then(
        () => 'answered',
        () => 'failed',
      ),
      new Promise((resolve) => setTimeout(() => resolve('waiting'), NODE_RESTART_DELAY_MS)),
    ]);
    expect(early).toBe('waiting');
    await node.restart();
    const answer = await waiting;
    expect(answer.decision).toMatchObject({ approved: true });
    expect(Date.now() - sentAt).toBeLessThan(15_000);
    const log = readFileSync(join(node.dir, 'node.stdout'), 'utf8');
    expect(log.match(/POS API listening on the socket the service manager holds/g)).toHaveLength(2);

    // A box that lost power has no socket: the POS is refused at once, until it boots.
    await node.powerOff();
    await expect(pay(node, 'no-power')).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
    // Booting, systemd listens before the node runs: a request made now waits for the node.
    const booting = node.restart();
    const whileBooting = pay(node, 'while-booting');
    await booting;
    expect((await whileBooting).decision).toMatchObject({ approved: true });
  }, 60_000);

  it('refuses to start (exit 2) on a handed-over socket that is not where the configuration puts the API, naming both', async () => {
    const dir = tempDir();
    const configured = await freePort();
    const config = await newNodeConfigIn(dir, { api: { host: '127.0.0.1', port: configured, tokenFile: 'api.token' } });
    const file = join(dir, 'node.json');
    writeFileSync(
      file,
      JSON.stringify({
        nodeId: config.nodeId,
        dataDir: config.dataDir,
        keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true },
        api: { host: '127.0.0.1', port: configured, tokenFile: 'api.token' },
      }),
    );
    const other = HeldSocket.bind('127.0.0.1', await freePort());
    cleanups.push(() => other.release());
    const child = spawnWithSocket(process.execPath, [STORE_PROGRAM, 'node', 'run', '--config', file], other, 'api', { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(EXIT.usage);
    expect(stderr).toMatch(new RegExp(`^edgepay: EDGEPAY_API_SOCKET_MISMATCH: the POS API socket handed over by the service manager is 127\\.0\\.0\\.1:${other.port}, but api is 127\\.0\\.0\\.1:${configured}`, 'm'));
  }, 30_000);
});
