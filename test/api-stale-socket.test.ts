import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimSocketPath } from '../src/api/stale-socket.js';
import { runCli } from './support/cli.js';
import { type NodeProcess, lanesOverSocket, nodeConfigFile, startNodeProcess } from './support/node-process.js';
import { eventually } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-sock-');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const READY_MS = 15_000;

/** An initialised node whose POS API listens on `socket`, with a data directory of its own. */
async function socketNode(socket: string, nodeId = 'box-1'): Promise<string> {
  const dir = tempDir();
  const file = await nodeConfigFile(dir, { nodeId, api: { socket } });
  expect(runCli(['node', 'init', '--config', file]).status).toBe(0);
  return file;
}

function started(file: string): NodeProcess {
  const node = startNodeProcess(file);
  cleanups.push(() => node.kill());
  return node;
}

describe('the POS API socket after a crash, against real node processes', () => {
  it('a node killed with SIGKILL leaves its socket behind; the next start removes it and serves again', async () => {
    const socket = join(tempDir(), 'api.sock');
    const file = await socketNode(socket);
    const first = started(file);
    expect(await eventually(() => lanesOverSocket(socket), READY_MS, `the node on ${socket}; stderr: ${first.stderr()}`)).toBe('{"lanes":[]}');
    await first.kill();
    expect(await first.exited).toBe('SIGKILL');
    expect(lstatSync(socket).isSocket(), "the dead node's socket file is still there").toBe(true);

    const second = started(file);
    expect(await eventually(() => lanesOverSocket(socket), READY_MS, `the restarted node on ${socket}; stderr: ${second.stderr()}`)).toBe('{"lanes":[]}');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 40_000);

  it('a second node on a socket a running node serves is refused (exit 1), and the first keeps answering', async () => {
    const socket = join(tempDir(), 'api.sock');
    const first = started(await socketNode(socket, 'box-1'));
    await eventually(() => lanesOverSocket(socket), READY_MS, `the first node; stderr: ${first.stderr()}`);

    const second = started(await socketNode(socket, 'box-2'));
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toMatch(new RegExp(`^edgepay: EDGEPAY_API_SOCKET_IN_USE: api.socket ${socket} is served by another process`, 'm'));
    expect(await lanesOverSocket(socket)).toBe('{"lanes":[]}');
    expect(first.child.exitCode).toBeNull();
  }, 40_000);

  it('a regular file at the socket path is refused (exit 2) and left exactly as it was', async () => {
    const socket = join(tempDir(), 'api.sock');
    writeFileSync(socket, "the operator's notes\n");
    const node = started(await socketNode(socket));
    expect(await node.exited).toBe(2);
    expect(node.stderr()).toMatch(new RegExp(`^edgepay: EDGEPAY_API_SOCKET_NOT_A_SOCKET: api.socket ${socket} is a regular file, not a socket`, 'm'));
    expect(readFileSync(socket, 'utf8')).toBe("the operator's notes\n");
  }, 30_000);
});

describe('claimSocketPath', () => {
  it('leaves a free path alone, refuses a directory without touching it, and removes only a socket nobody answers on', async () => {
    const dir = tempDir();
    await expect(claimSocketPath(join(dir, 'free.sock'))).resolves.toBeUndefined();

    const directory = join(dir, 'a-dir');
    mkdirSync(directory);
    await expect(claimSocketPath(directory)).rejects.toMatchObject({ code: 'EDGEPAY_API_SOCKET_NOT_A_SOCKET', message: expect.stringContaining('is a directory') });
    expect(lstatSync(directory).isDirectory()).toBe(true);

    const live = join(dir, 'live.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(live, resolve));
    await expect(claimSocketPath(live)).rejects.toMatchObject({ code: 'EDGEPAY_API_SOCKET_IN_USE' });
    expect(lstatSync(live).isSocket()).toBe(true);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
