import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createSocket } from 'unix-dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { apiAuthHeaders } from '../src/api/client-auth.js';
import { withLuhnDigit } from '../src/card/luhn.js';
import { generateCentreKeyPair } from '../src/central/centre-keys.js';
import { loadNodeConfig } from '../src/config/node-config.js';
import { initNode } from '../src/app/init.js';
import { NodeRuntime } from '../src/app/runtime.js';
import type { ReconciliationReport } from '../src/reconcile/report.js';
import { type ProvisionedNode, peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import { startPostgres } from '../src/rigs/database/postgres-server.js';
import type { NodeStatusReport } from '../src/observability/status.js';
import { freePort, startMosquitto } from './support/brokers.js';
import { startCentreProcess } from './support/centre-process.js';
import { isRunning } from './support/child-output.js';
import { CLI, type CliResult, runCli } from './support/cli.js';
import { nodeConfigIn } from './support/node.js';
import { eventually, sleep, startPtyPair, startSimulator } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

/*
 * After a power cut the boxes of a store come up in any order. A lane takes payments as soon as its
 * own box is up; the broker, the peers, the centre and even the lane's reader join when they
 * appear, and everything converges. Real processes throughout: `edgepay node run`, `edgepay centre
 * run`, Mosquitto from the shipped configuration, PostgreSQL, readers on socat ptys.
 */

const tempDir = useTempDir('edgepay-boot-order-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const FLEET = 'fleet-1';
const STORE = 'store-3';
const USERS = { 'box-1': 'pw-box-1', 'box-2': 'pw-box-2', 'edgepay-centre': 'pw-centre' };

/** A process of ours with everything it printed, stdout and stderr (pino's JSON lines), kept for the test to read. */
interface Proc {
  readonly child: ChildProcess;
  output(): string;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | string>;
}

function spawnCli(args: readonly string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  cleanups.push(async () => {
    if (isRunning(child)) child.kill('SIGKILL');
    await exited;
  });
  return { child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited };
}

/** The CLI without blocking this process, timed. */
async function runCliTimed(args: readonly string[]): Promise<CliResult & { ms: number }> {
  const started = performance.now();
  const proc = spawnCli(args);
  const status = await proc.exited;
  const ms = performance.now() - started;
  return { status: typeof status === 'number' ? status : null, stdout: proc.stdout(), stderr: proc.stderr(), ms };
}

/** systemd's notify socket, as a unit under Type=notify has it: every datagram the process sends. */
function notifySocket(dir: string): { readonly path: string; readonly received: string[] } {
  const path = join(dir, 'notify.sock');
  const received: string[] = [];
  const listener = createSocket('unix_dgram', (message) => received.push(message.toString('utf8')));
  listener.bind(path);
  cleanups.push(() => listener.close());
  return { path, received };
}

const lines = (output: string, msg: string): number => output.split('\n').filter((line) => line.includes(`"msg":"${msg}`)).length;

/** The centre's answer key and configuration (SQLite ledger unless `ledger` says otherwise), box-1 and box-2 registered as an operator does. */
function centreIn(dir: string, brokerPort: number, extra: Record<string, unknown> = {}): string {
  writeFileSync(join(dir, 'centre.pw'), `${USERS['edgepay-centre']}\n`);
  expect(runCli(['centre', 'keys', 'create', '--out', join(dir, 'centre-keys')]).status).toBe(0);
  const file = join(dir, 'centre.json');
  writeFileSync(
    file,
    JSON.stringify({
      fleet: FLEET,
      brokerUrl: `mqtt://127.0.0.1:${brokerPort}`,
      passwordFile: 'centre.pw',
      signingKeyFile: 'centre-keys/centre-signing.key',
      ledger: { sqliteFile: 'ledger.db' },
      log: { level: 'info' },
      ...extra,
    }),
  );
  return file;
}

function registerNodes(centreConfig: string, keys: readonly ProvisionedNode[]): void {
  for (const key of keys) {
    const added = runCli(['centre', 'nodes', 'add', '--config', centreConfig, '--node', key.nodeId, '--store', STORE, '--public-key', key.publicKeyFile]);
    expect(added.status, added.stderr).toBe(0);
  }
}

/** A box's configuration file in a directory of its own, initialised as `edgepay node init` does. */
async function boxIn(dir: string, nodeId: string, brokerPort: number, keys: readonly ProvisionedNode[], centreAnswerKey: string, extra: Record<string, unknown>): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await nodeConfigIn(dir);
  writeFileSync(join(dir, `${nodeId}.pw`), `${USERS[nodeId as keyof typeof USERS]}\n`);
  const file = join(dir, 'node.json');
  writeFileSync(
    file,
    JSON.stringify({
      nodeId,
      dataDir: 'data',
      keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true },
      log: { level: 'info' },
      replication: {
        fleet: FLEET,
        store: STORE,
        brokerUrl: `mqtt://127.0.0.1:${brokerPort}`,
        username: nodeId,
        passwordFile: `${nodeId}.pw`,
        signingKeyFile: keys.find((k) => k.nodeId === nodeId)!.signingKeyFile,
        peers: peersOf(nodeId, keys),
      },
      centre: { store: STORE, intervalMs: 500, answerTimeoutMs: 2_000, signingPublicKeyFile: centreAnswerKey },
      ...extra,
    }),
  );
  initNode(loadNodeConfig(file));
  return file;
}

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T } | undefined> {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(3_000) });
    return { status: response.status, body: (await response.json()) as T };
  } catch {
    return undefined;
  }
}

const metric = async (url: string, name: string): Promise<string | undefined> => {
  const text = await fetch(`${url}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  return new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1];
};

describe('a store that boots in any order', () => {
  it('a box alone takes an offline payment once its reader is plugged in; broker, peer and centre join later and everything converges; reconcile status never takes its session', async () => {
    const dir = tempDir();
    const brokerPort = await freePort();
    const [api1, obs1, obs2] = [await freePort(), await freePort(), await freePort()];
    const keys = provisionNodeKeys(join(dir, 'keys'), ['box-1', 'box-2']);
    const centreConfig = centreIn(dir, brokerPort);
    registerNodes(centreConfig, keys);
    const centreAnswerKey = join(dir, 'centre-keys', 'centre-signing.pub');
    // The lane's reader is not plugged in: its device does not exist yet.
    const laneDir = join(dir, 'lane-1');
    mkdirSync(laneDir);
    const box1File = await boxIn(join(dir, 'box-1'), 'box-1', brokerPort, keys, centreAnswerKey, {
      api: { host: '127.0.0.1', port: api1, tokenFile: 'api.token' },
      observability: { host: '127.0.0.1', port: obs1 },
      lanes: [{ id: 'lane-1', port: join(laneDir, 'node'), profile: 'edgepay-sim' }],
    });
    const apiUrl = `http://127.0.0.1:${api1}`;
    const obsUrl = `http://127.0.0.1:${obs1}`;
    const auth = apiAuthHeaders(loadNodeConfig(box1File).api);

    // ---- box-1 alone: no broker process, no centre, no peer, no reader -----------------------------
    const notify = notifySocket(dir);
    const execAt = performance.now();
    const box1 = spawnCli(['node', 'run', '--config', box1File], { NOTIFY_SOCKET: notify.path });
    const lanes = await eventually(async () => (await getJson<{ lanes: { id: string; reader: { state: string } | null }[] }>(`${apiUrl}/v1/lanes`, auth))?.body.lanes, 20_000, "box-1's POS API");
    const apiUpMs = performance.now() - execAt;
    expect(lanes[0]!.reader?.state).toBe('disconnected');
    // Ready for systemd without a broker (nothing listens on its port yet).
    await expect.poll(() => notify.received.find((m) => m.startsWith('READY=1')), { timeout: 5_000 }).toMatch(/STATUS=serving: 1 lane, POS API up/);
    // Up and healthy: the broker is not waited for, only shown as not connected.
    const health = await getJson<{ healthy: boolean; broker: { connected: boolean | null } }>(`${obsUrl}/health`);
    expect(health).toMatchObject({ status: 200, body: { healthy: true, broker: { connected: false } } });
    expect((await getJson<NodeStatusReport>(`${obsUrl}/status.json`))?.body.broker).toEqual({ connected: false, url: `mqtt://127.0.0.1:${brokerPort}`, onStandby: false, failovers: 0, failbacks: 0 });
    expect(await metric(obsUrl, 'edgepay_broker_up')).toBe('0');

    // The reader is plugged in: the lane finds it by itself and takes a payment, decided offline.
    const pluggedAt = performance.now();
    const pty = await startPtyPair(laneDir);
    cleanups.push(() => pty.kill());
    const sim = startSimulator(['reader', 'simulate', '--port', pty.readerPath, '--profile', 'edgepay-sim', '--cards', 'good', '--seed', '7']);
    cleanups.push(() => sim.stop());
    await eventually(
      async () => ((await getJson<{ lanes: { reader: { state: string } | null }[] }>(`${apiUrl}/v1/lanes`, auth))?.body.lanes[0]?.reader?.state === 'ready' ? true : undefined),
      15_000,
      'the reader to be found',
    );
    const readerReadyMs = performance.now() - pluggedAt;
    const pay = (key: string) =>
      fetch(`${apiUrl}/v1/payments`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ lane: 'lane-1', amountMinor: 1_250, currency: 'EUR', reference: `receipt-${key}`, idempotencyKey: key }),
      }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, any> }));
    const first = await pay('p1');
    const firstApprovedMs = performance.now() - execAt;
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ status: 'approved', decision: { approved: true, code: 'Y3', mode: 'offline' }, journalSeq: 1 });
    expect((await pay('p2')).json).toMatchObject({ status: 'approved', journalSeq: 2 });
    // reconcile status meanwhile: the journal's side at once, and why the centre cannot be asked through box-1.
    const alone = await runCliTimed(['reconcile', 'status', '--config', box1File, '--timeout-s', '10']);
    expect(alone.status).toBe(1);
    expect(alone.ms).toBeLessThan(5_000);
    expect(alone.stdout).toContain('journal: 2 entries (EUR 25.00); not forwarded: 2');
    expect(alone.stdout).toMatch(/centre: {2}NOT REACHED \(through the running node \(pid \d+\)\): .*not connected to its store broker/);
    console.log(
      `box-1 alone: POS API up ${Math.round(apiUpMs)} ms after exec; reader found ${Math.round(readerReadyMs)} ms after it was plugged in; first approved offline payment ${Math.round(firstApprovedMs)} ms after exec`,
    );

    // ---- then the broker (same port), the peer and the centre ---------------------------------------
    const broker = await startMosquitto(join(dir, 'broker'), USERS, { fleet: FLEET, store: STORE }, brokerPort);
    cleanups.push(() => broker.stop());
    const brokerAt = performance.now();
    const box2File = await boxIn(join(dir, 'box-2'), 'box-2', brokerPort, keys, centreAnswerKey, { observability: { host: '127.0.0.1', port: obs2 } });
    const box2 = spawnCli(['node', 'run', '--config', box2File]);
    const centre = startCentreProcess(centreConfig, cleanups);
    await expect.poll(() => centre.output(), { timeout: 20_000 }).toContain('centre taking batches');

    // Everything converges: box-1's entries in box-2's replica, and in the centre's ledger (settled: box-1 holds the centre's answers).
    await eventually(async () => ((await getJson<NodeStatusReport>(`${obsUrl}/status.json`))?.body.broker.connected === true ? true : undefined), 15_000, 'box-1 connected to the broker');
    const joinedMs = performance.now() - brokerAt;
    await eventually(
      async () => ((await getJson<NodeStatusReport>(`http://127.0.0.1:${obs2}/status.json`))?.body.peers.find((p) => p.nodeId === 'box-1')?.headSeq === 2 ? true : undefined),
      20_000,
      `box-1's entries in box-2's replica; box-2:\n${box2.output().slice(-2_000)}`,
    );
    await eventually(
      async () => ((await getJson<NodeStatusReport>(`${obsUrl}/status.json`))?.body.backlog.unforwarded === 0 ? true : undefined),
      20_000,
      `box-1's entries held by the centre; box-1:\n${box1.output().slice(-2_000)}`,
    );
    const convergedMs = performance.now() - brokerAt;
    console.log(`after the broker came up: box-1 connected within ${Math.round(joinedMs)} ms; replica and ledger converged within ${Math.round(convergedMs)} ms`);
    expect(await metric(obsUrl, 'edgepay_broker_up')).toBe('1');
    expect((await getJson<{ broker: { connected: boolean } }>(`${obsUrl}/health`))?.body.broker).toEqual({ connected: true });
    // The peer's own view of box-1, and box-1's of the peer: online both ways.
    await eventually(async () => ((await getJson<NodeStatusReport>(`${obsUrl}/status.json`))?.body.peers.find((p) => p.nodeId === 'box-2')?.online === true ? true : undefined), 10_000, 'box-2 online at box-1');

    // ---- reconcile status, ten times, while box-1 runs: it asks through box-1 and never takes its session ----
    const connectsBefore = lines(box1.output(), 'connected to the broker');
    expect(connectsBefore).toBe(1);
    const samples: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push((await metric(obsUrl, 'edgepay_broker_up')) ?? 'none');
        await sleep(50);
      }
    })();
    const reports: ReconciliationReport[] = [];
    for (let n = 0; n < 10; n++) {
      const status = await runCliTimed(['reconcile', 'status', '--config', box1File, '--json', '--timeout-s', '10']);
      expect(status.status, status.stdout).toBe(0);
      reports.push(JSON.parse(status.stdout) as ReconciliationReport);
    }
    sampling = false;
    await sampler;
    expect(reports.every((r) => r.matched && r.centreReached && r.centre?.entries === 2)).toBe(true);
    expect(reports[0]!.centreVia).toMatch(/^through the running node/);
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.every((s) => s === '1')).toBe(true);
    // The broker kept box-1's one session: no reconnect, and it still forwards over it.
    expect(lines(box1.output(), 'connected to the broker')).toBe(connectsBefore);
    expect((await pay('p3')).json).toMatchObject({ status: 'approved', journalSeq: 3 });
    await eventually(async () => ((await getJson<NodeStatusReport>(`${obsUrl}/status.json`))?.body.backlog.unforwarded === 0 ? true : undefined), 20_000, 'p3 held by the centre');

    box1.child.kill('SIGTERM');
    box2.child.kill('SIGTERM');
    expect(await box1.exited).toBe(0);
    expect(await box2.exited).toBe(0);
  }, 150_000);

  it('centre run started before its broker and its PostgreSQL ledger: 503 naming what it waits for, no batch taken, a few log lines; healthy and serving once both are up', async () => {
    const dir = tempDir();
    const [brokerPort, pgPort, obsPort] = [await freePort(), await freePort(), await freePort()];
    const keys = provisionNodeKeys(join(dir, 'keys'), ['box-1']);
    writeFileSync(join(dir, 'ledger-url'), `postgres://edgepay@127.0.0.1:${pgPort}/edgepay\n`);
    const centreConfig = centreIn(dir, brokerPort, { ledger: { postgresUrlFile: 'ledger-url' }, observability: { host: '127.0.0.1', port: obsPort } });
    const url = `http://127.0.0.1:${obsPort}`;
    type Health = { healthy: boolean; broker: boolean; ledger: boolean; waitingFor?: Record<string, string> };

    const notify = notifySocket(dir);
    const startedAt = performance.now();
    // Under systemd: a watchdog of 0.4 s, pinged every 0.2 s while the broker is up or still tried.
    const centre = spawnCli(['centre', 'run', '--config', centreConfig], { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '400000' });
    const waiting = await eventually(async () => await getJson<Health>(`${url}/health`), 10_000, `the centre's health port; output:\n${centre.output()}`);
    expect(waiting.status).toBe(503);
    expect(waiting.body).toMatchObject({ healthy: false, broker: false, ledger: false, waitingFor: { broker: expect.stringContaining('ECONNREFUSED'), ledger: expect.stringContaining('ECONNREFUSED') } });
    // Tries spread out (0.5, 1, 2, 4 s …): a few lines in six seconds, not a flood.
    await sleep(Math.max(0, 6_000 - (performance.now() - startedAt)));
    const ledgerLines = lines(centre.output(), 'central ledger not available');
    const brokerLines = lines(centre.output(), 'centre broker not reachable');
    expect(ledgerLines).toBeGreaterThanOrEqual(3);
    expect(ledgerLines).toBeLessThanOrEqual(5);
    expect(brokerLines).toBeGreaterThanOrEqual(3);
    expect(brokerLines).toBeLessThanOrEqual(5);
    // Started for systemd, saying what it waits for; its watchdog fed meanwhile, so it is not restarted into the same wait.
    expect(notify.received.find((m) => m.startsWith('READY=1'))).toMatch(/STATUS=waiting for broker \(.*\), ledger \(/);
    expect(notify.received.filter((m) => m.startsWith('STATUS=')).at(-1)).toMatch(/^STATUS=waiting for broker \(connect ECONNREFUSED [^)]*\), ledger \(cannot open the central ledger: connect ECONNREFUSED/);
    expect(notify.received.filter((m) => m === 'WATCHDOG=1').length).toBeGreaterThanOrEqual(20);

    // The broker appears: connected, but without its ledger the centre subscribes to nothing, so a batch sent now is not taken.
    const broker = await startMosquitto(join(dir, 'broker'), USERS, { fleet: FLEET, store: STORE }, brokerPort);
    cleanups.push(() => broker.stop());
    const onlyLedger = await eventually(
      async () => {
        const health = await getJson<Health>(`${url}/health`);
        return health?.body.broker === true ? health : undefined;
      },
      20_000,
      'the centre connected to its broker',
    );
    expect(onlyLedger).toMatchObject({ status: 503, body: { broker: true, ledger: false, waitingFor: { ledger: expect.stringContaining('ECONNREFUSED') } } });
    expect(onlyLedger.body.waitingFor).not.toHaveProperty('broker');
    const nodeDir = tempDir();
    const config = loadNodeConfig(await boxIn(nodeDir, 'box-1', brokerPort, keys, join(dir, 'centre-keys', 'centre-signing.pub'), {}));
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    cleanups.push(() => node.stop());
    const card = { pan: withLuhnDigit('400000000000042'), expiryYymm: '2912' };
    expect((await node.pay({ idempotencyKey: 'early', amountMinor: 990, currency: 'EUR', card })).decision).toMatchObject({ code: 'Y3', mode: 'offline' });
    const uplinkStatus = () => node.ask('uplink', { type: 'status' });
    // Its batch went out over the broker and found no centre to take it.
    await eventually(async () => ((await uplinkStatus()).lastError?.message.includes('no answer from the centre') === true ? true : undefined), 15_000, 'a batch sent and not answered');
    expect(await metric(url, 'edgepay_centre_batches_received_total')).toBe('0');

    // The database appears (a real PostgreSQL on the port the configuration names): the centre opens its ledger and serves.
    const pg = await startPostgres({ dir: tempDir(), port: pgPort });
    cleanups.push(() => pg.stop());
    const pgAt = performance.now();
    await eventually(async () => ((await getJson<Health>(`${url}/health`))?.status === 200 ? true : undefined), 30_000, `the centre healthy; output:\n${centre.output().slice(-3_000)}`);
    console.log(`centre: healthy ${Math.round(performance.now() - pgAt)} ms after PostgreSQL accepted connections (${Math.round(performance.now() - startedAt)} ms after exec)`);
    expect((await getJson<Health>(`${url}/health`))?.body).toEqual({ healthy: true, broker: true, ledger: true });
    expect(centre.output()).toContain('centre taking batches');
    await expect.poll(() => notify.received.filter((m) => m.startsWith('STATUS=')).at(-1), { timeout: 5_000 }).toBe(`STATUS=taking batches for fleet ${FLEET}`);
    // Serving: box-1, registered now, gets its entry held by the ledger.
    registerNodes(centreConfig, keys);
    await eventually(
      async () => {
        const uplink = await uplinkStatus();
        return uplink.lastError === null && uplink.lastReport?.headSeq === 1 ? true : undefined;
      },
      20_000,
      'the entry held by the centre',
    );
    expect(Number(await metric(url, 'edgepay_centre_batches_received_total'))).toBeGreaterThanOrEqual(1);

    centre.child.kill('SIGTERM');
    expect(await centre.exited).toBe(0);
  }, 120_000);

  it('centre run stops cleanly on SIGTERM while it still waits for both', async () => {
    const dir = tempDir();
    const brokerPort = await freePort();
    writeFileSync(join(dir, 'ledger-url'), `postgres://edgepay@127.0.0.1:${await freePort()}/edgepay\n`);
    const centre = startCentreProcess(centreIn(dir, brokerPort, { ledger: { postgresUrlFile: 'ledger-url' } }), cleanups);
    await expect.poll(() => centre.output(), { timeout: 10_000 }).toContain('central ledger not available');
    const signalledAt = performance.now();
    centre.child.kill('SIGTERM');
    expect(await centre.exited).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(3_000);
  }, 30_000);

  describe('reconcile status with nothing reachable', () => {
    const statusOf = async (brokerUrl: string, timeoutS: number, ledger?: Record<string, unknown>) => {
      const dir = tempDir();
      const keys = provisionNodeKeys(join(dir, 'keys'), ['box-1']);
      const port = Number(new URL(brokerUrl).port);
      // The centre's answer key as the node pins it: only the centre is missing.
      writeFileSync(join(dir, 'centre-signing.pub'), generateCentreKeyPair().publicKeyPem);
      const file = await boxIn(dir, 'box-1', port, keys, join(dir, 'centre-signing.pub'), ledger === undefined ? {} : { centre: { store: STORE, ledger } });
      return runCliTimed(['reconcile', 'status', '--config', file, '--timeout-s', String(timeoutS)]);
    };

    it('broker refusing connections: the journal side at once, and the broker named as not reached (exit 1)', async () => {
      const result = await statusOf(`mqtt://127.0.0.1:${await freePort()}`, 5);
      expect(result.status).toBe(1);
      expect(result.ms).toBeLessThan(5_000);
      expect(result.stdout).toContain('journal: 0 entries');
      expect(result.stdout).toMatch(/centre: {2}NOT REACHED \(over MQTT\): cannot reach the broker at mqtt:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
      expect(result.stdout).not.toContain('matched to the minor unit');
    }, 30_000);

    it('a broker that accepts and never answers: given up on within --timeout-s', async () => {
      const silent: Server = createServer((socket: Socket) => cleanups.push(() => socket.destroy()));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => silent.close(resolve)));
      const result = await statusOf(`mqtt://127.0.0.1:${(silent.address() as { port: number }).port}`, 2);
      expect(result.status).toBe(1);
      expect(result.ms).toBeGreaterThanOrEqual(1_900);
      expect(result.ms).toBeLessThan(5_000);
      expect(result.stdout).toContain('journal: 0 entries');
      expect(result.stdout).toMatch(/centre: {2}NOT REACHED \(over MQTT\): cannot reach the broker at .*: no connection to .* within \d+ ms/);
    }, 30_000);

    it('an embedded ledger whose database is down: the journal side and the ledger named, not a failed command', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'ledger-url'), `postgres://edgepay@127.0.0.1:${await freePort()}/edgepay\n`);
      const result = await statusOf(`mqtt://127.0.0.1:${await freePort()}`, 5, { postgresUrlFile: join(dir, 'ledger-url') });
      expect(result.status).toBe(1);
      expect(result.ms).toBeLessThan(5_000);
      expect(result.stdout).toContain('journal: 0 entries');
      expect(result.stdout).toMatch(/centre: {2}NOT REACHED \(embedded ledger\): cannot open the central ledger: connect ECONNREFUSED/);
    }, 30_000);
  });

  it('a node whose embedded ledger database is down starts and takes payments offline', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ledger-url'), `postgres://edgepay@127.0.0.1:${await freePort()}/edgepay\n`);
    const config = await nodeConfigIn(dir, { nodeId: 'box-1', centre: { store: STORE, intervalMs: 200, ledger: { postgresUrlFile: join(dir, 'ledger-url') } } });
    initNode(config);
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    cleanups.push(() => node.stop());
    expect((await node.pay({ idempotencyKey: 'k', amountMinor: 500, currency: 'EUR', card: { pan: withLuhnDigit('400000000000077'), expiryYymm: '2912' } })).decision).toMatchObject({ approved: true, mode: 'offline' });
    // A round with an entry to send tries the ledger, and says why it could not.
    const uplink = await eventually(
      async () => {
        const status = await node.ask('uplink', { type: 'status' });
        return status.lastError !== null ? status : undefined;
      },
      10_000,
      'a forwarding round that tried the ledger',
    );
    expect(uplink.lastError?.message).toContain('cannot open the central ledger');
    expect(node.supervisor.children().every((child) => child.state === 'running')).toBe(true);
  }, 30_000);
});
