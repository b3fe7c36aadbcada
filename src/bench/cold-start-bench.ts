import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Pool } from 'undici';
import { apiAuthHeaders } from '../api/client-auth.js';
import { generateSealKeyPair } from '../card/index.js';
import { Journal } from '../journal/journal.js';
import { parseNodeConfig, journalPathOf } from '../config/node-config.js';
import { initNode } from '../app/init.js';
import type { Clock } from '../platform/clock.js';
import { storeProgramPath } from '../platform/modules.js';
import { makeRunDir } from '../rigs/run-dir.js';
import { BENCH_CURRENCY } from './bench-rules.js';
import { roundTo } from './latency.js';
import { LANE_BENCH_RULES } from './lane-node.js';
import { startPtyPair } from '../rigs/readers/pty-pair.js';
import { startReaderSim } from '../rigs/readers/reader-sim.js';
import { type MachineInfo, machineInfo } from './machine.js';
import { fillBacklog } from './reconcile-fill.js';
import { Closers } from '../rigs/closers.js';

/*
 * The repair time of the commonest fault: a node process killed and started again by systemd. The
 * clock starts at `exec` of `edgepay node run` (one lane on a pty pair with a simulated reader, the
 * POS API, a journal of `entries`: a week old, forwarded but for its last UNFORWARDED) and stops
 * when the POS holds the first decision; a POS that
 * retries every few milliseconds, as a till does after "connection refused". Then the footprint of
 * the idle node: RSS, peak RSS, threads (by name) and CPU. The floors, measured in the same run:
 * Node.js starting and exiting with nothing to do, and the command line loading and printing its
 * version.
 */

export interface ColdStartReport {
  readonly bench: 'cold-start';
  readonly machine: MachineInfo;
  readonly entries: number;
  readonly journalBytes: number;
  readonly floor: {
    /** exec → exit of `node -e 0`, best of FLOOR_RUNS. */
    readonly nodeExitMs: number;
    /** exec → exit of `edgepay --version`: Node plus the command line's entry point (it loads no command). */
    readonly cliVersionMs: number;
  };
  /** exec → first HTTP answer of the POS API (any status). */
  readonly apiUpMs: number;
  /** exec → the first payment's decision read by the POS. */
  readonly firstDecisionMs: number;
  readonly firstDecision: string;
  /**
   * CPU the node process (all its threads) spent from exec to that decision. On a busy box a start
   * takes about this much more wall time for every core it does not get, so it is the figure to
   * compare across runs on a machine shared with other work.
   */
  readonly startCpuMs: number;
  /** CPU of the whole process in the settleMs after its first decision, in percent of one core. */
  readonly settleCpuPercentOfCore: number;
  readonly idle: {
    readonly rssMiB: number;
    readonly peakRssMiB: number;
    readonly threads: number;
    /** /proc/<pid>/task/<tid>/comm of each thread, counted by name. */
    readonly threadNames: Readonly<Record<string, number>>;
    /** CPU of the whole process while it waits for the next payment, in percent of one core. */
    readonly cpuPercentOfCore: number;
    /** The same, per thread name: actor threads carry their actor's id, Node's own threads are "node". */
    readonly cpuPercentByThread: Readonly<Record<string, number>>;
  };
}

const FLOOR_RUNS = 5;
const RETRY_MS = 2;
const FIRST_DECISION_TIMEOUT_MS = 60_000;
/*
 * After its first decision a node still finishes starting: V8 compiles and collects what start-up
 * left (its memory reducer runs a full GC some seconds into an idle process). That is part of the
 * start, reported as settleCpuPercentOfCore; idle is what the node costs from then on.
 */
const SETTLE_MS = 15_000;
const IDLE_SAMPLE_MS = 15_000;
const NODE_ID = 'bench-cold-start';
/** How old the journal's history is: outside the card window (24 h), inside the forward deadline (720 h). */
const HISTORY_AGE_MS = 7 * 24 * 3_600_000;
/** Entries the centre has not had yet: below the node's stored-count cap of a store's rules. */
const UNFORWARDED = 400;
const FORWARD_BATCH = 50_000;
const LANE_ID = 'lane-1';
const PROFILE = 'edgepay-sim';

export interface ColdStartOptions {
  readonly entries: number;
  readonly dir?: string;
  readonly keep?: boolean;
  /** How long the idle node's CPU is sampled (IDLE_SAMPLE_MS by default). */
  readonly idleSampleMs?: number;
  /** From the first decision to the idle sample (SETTLE_MS by default). */
  readonly settleMs?: number;
  readonly progress?: (line: string) => void;
}

export async function runColdStartBench(options: ColdStartOptions): Promise<ColdStartReport> {
  const progress = options.progress ?? (() => undefined);
  const dir = makeRunDir(options.dir);
  const cleanups = new Closers();
  try {
    const machine = machineInfo(dir.path);
    const cli = storeProgramPath();
    const floor = { nodeExitMs: bestOf(FLOOR_RUNS, process.execPath, ['-e', '0']), cliVersionMs: bestOf(FLOOR_RUNS, process.execPath, [cli, '--version']) };

    const pty = await startPtyPair(dir.path);
    cleanups.push(() => pty.close());
    const sim = await startReaderSim({ port: pty.readerPath, profile: PROFILE, seed: 1, pace: false });
    cleanups.push(() => sim.stop());

    const nodeDir = join(dir.path, 'node');
    const credentialsDir = join(dir.path, 'credentials');
    mkdirSync(nodeDir, { recursive: true });
    mkdirSync(credentialsDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(credentialsDir, 'token.key'), randomBytes(32).toString('base64'), { mode: 0o600 });
    chmodSync(credentialsDir, 0o700);
    const centre = await generateSealKeyPair();
    writeFileSync(join(nodeDir, 'centre.pub'), Buffer.from(centre.publicKey).toString('base64'));
    writeFileSync(join(nodeDir, 'rules.json'), JSON.stringify(LANE_BENCH_RULES));
    const apiPort = await freePort();
    const raw = {
      nodeId: NODE_ID,
      dataDir: 'data',
      rulesFile: 'rules.json',
      keys: { tokenKeyFile: 'credential:token.key', centrePublicKeyFile: 'centre.pub' },
      api: { host: '127.0.0.1', port: apiPort, tokenFile: 'api.token' },
      lanes: [{ id: LANE_ID, port: pty.nodePath, profile: PROFILE }],
      log: { level: 'warn' },
    };
    const configFile = join(nodeDir, 'node.json');
    writeFileSync(configFile, JSON.stringify(raw));
    const env = { ...process.env, CREDENTIALS_DIRECTORY: credentialsDir };
    const config = parseNodeConfig(raw, nodeDir, env);
    initNode(config);
    progress(`cold-start: writing ${options.entries} journal entries ...`);
    // A box's history as it is after months of trading: written before the rules' card window and
    // forwarded to the centre, but for the last UNFORWARDED entries of an uplink that is down now.
    const historyClock: Clock = { wallMs: () => Date.now() - HISTORY_AGE_MS, monotonicNs: () => process.hrtime.bigint() };
    const journal = Journal.open({ path: journalPathOf(config), nodeId: NODE_ID, clock: historyClock });
    try {
      fillBacklog(journal, options.entries);
      const forwardedUpTo = Math.max(0, options.entries - UNFORWARDED);
      for (let from = 1; from <= forwardedUpTo; from += FORWARD_BATCH) {
        const to = Math.min(forwardedUpTo, from + FORWARD_BATCH - 1);
        journal.markForwarded(Array.from({ length: to - from + 1 }, (_, i) => from + i));
      }
    } finally {
      journal.close();
    }
    const journalBytes = statSync(journalPathOf(config)).size;

    progress('cold-start: exec of edgepay node run ...');
    const pos = new Pool(`http://127.0.0.1:${apiPort}`, { connections: 1, connectTimeout: 1_000 });
    cleanups.push(() => pos.close());
    const startedAt = performance.now();
    const child = spawn(process.execPath, [cli, 'node', 'run', '--config', configFile], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    cleanups.push(() => stopNode(child));
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => (stderr = (stderr + text).slice(-4_000)));
    const first = await firstDecision(pos, apiAuthHeaders(config.api), child, () => stderr, startedAt);
    const startCpuMs = (threadTicks(child.pid!).processTicks / clockTicksPerSecond()) * 1_000;

    progress(
      `cold-start: first decision after ${roundTo(first.decisionMs, 1)} ms; ${(options.settleMs ?? SETTLE_MS) / 1_000} s to settle, then ${(options.idleSampleMs ?? IDLE_SAMPLE_MS) / 1_000} s of the idle node ...`,
    );
    const settle = await idleFootprint(child.pid!, options.settleMs ?? SETTLE_MS);
    const idle = await idleFootprint(child.pid!, options.idleSampleMs ?? IDLE_SAMPLE_MS);
    return {
      bench: 'cold-start',
      machine,
      entries: options.entries,
      journalBytes,
      floor: { nodeExitMs: roundTo(floor.nodeExitMs, 1), cliVersionMs: roundTo(floor.cliVersionMs, 1) },
      apiUpMs: roundTo(first.apiUpMs, 1),
      firstDecisionMs: roundTo(first.decisionMs, 1),
      firstDecision: first.decision,
      startCpuMs: roundTo(startCpuMs, 0),
      settleCpuPercentOfCore: settle.cpuPercentOfCore,
      idle,
    };
  } finally {
    await cleanups.close();
    dir.release(options.keep === true);
  }
}

/** exec → exit of a command, the fastest of `runs` (the floor, not a typical figure). */
function bestOf(runs: number, command: string, args: readonly string[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const result = spawnSync(command, args, { stdio: 'ignore' });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${String(result.status)}`);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

async function firstDecision(pos: Pool, headers: Readonly<Record<string, string>>, child: ChildProcess, stderr: () => string, startedAt: number): Promise<{ apiUpMs: number; decisionMs: number; decision: string }> {
  let apiUpMs: number | undefined;
  let attempt = 0;
  let last = 'no answer yet';
  while (performance.now() - startedAt < FIRST_DECISION_TIMEOUT_MS) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`edgepay node run exited (${String(child.exitCode ?? child.signalCode)}) before its first decision: ${stderr()}`);
    const key = `cold-start-${attempt++}`;
    try {
      const response = await pos.request({
        method: 'POST',
        path: '/v1/payments',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ lane: LANE_ID, amountMinor: 500, currency: BENCH_CURRENCY, reference: key, idempotencyKey: key }),
        headersTimeout: FIRST_DECISION_TIMEOUT_MS,
        bodyTimeout: FIRST_DECISION_TIMEOUT_MS,
      });
      const answer = (await response.body.json()) as { status?: string; decision?: { code?: string } };
      apiUpMs ??= performance.now() - startedAt;
      if (answer.status === 'approved' || answer.status === 'declined') {
        return { apiUpMs, decisionMs: performance.now() - startedAt, decision: `${answer.status} ${answer.decision?.code ?? ''}`.trim() };
      }
      last = `HTTP ${response.statusCode}: ${JSON.stringify(answer).slice(0, 200)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(RETRY_MS);
  }
  throw new Error(`no decision within ${FIRST_DECISION_TIMEOUT_MS} ms of exec; last: ${last}; node: ${stderr()}`);
}

async function idleFootprint(pid: number, sampleMs: number): Promise<ColdStartReport['idle']> {
  const ticksPerSecond = clockTicksPerSecond();
  const before = threadTicks(pid);
  const sampledAt = performance.now();
  await sleep(sampleMs);
  const after = threadTicks(pid);
  const elapsedSeconds = (performance.now() - sampledAt) / 1_000;
  const percentOf = (ticks: number): number => roundTo((ticks / ticksPerSecond / elapsedSeconds) * 100, 2);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  const threadNames: Record<string, number> = {};
  const ticksByName: Record<string, number> = {};
  for (const [tid, thread] of after.threads) {
    threadNames[thread.name] = (threadNames[thread.name] ?? 0) + 1;
    // A thread born during the sample counts from zero; one that ended is in the process total only.
    ticksByName[thread.name] = (ticksByName[thread.name] ?? 0) + thread.ticks - (before.threads.get(tid)?.ticks ?? 0);
  }
  const byName = <T>(record: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
  return {
    rssMiB: roundTo(kib('VmRSS') / 1024, 1),
    peakRssMiB: roundTo(kib('VmHWM') / 1024, 1),
    threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN),
    threadNames: byName(threadNames),
    cpuPercentOfCore: percentOf(after.processTicks - before.processTicks),
    cpuPercentByThread: byName(Object.fromEntries(Object.entries(ticksByName).map(([name, ticks]) => [name, percentOf(ticks)]))),
  };
}

/** The unit of /proc's CPU times. */
function clockTicksPerSecond(): number {
  return Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
}

interface ThreadSample {
  readonly name: string;
  /** utime + stime, in clock ticks. */
  readonly ticks: number;
}

/** The process's CPU ticks so far, and each thread's name and ticks by thread id. */
function threadTicks(pid: number): { readonly processTicks: number; readonly threads: Map<string, ThreadSample> } {
  const processTicks = ticksOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const threads = new Map<string, ThreadSample>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      threads.set(tid, { name, ticks: ticksOfStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')) });
    } catch {
      // a thread that ended meanwhile
    }
  }
  return { processTicks, threads };
}

/** utime + stime of a /proc stat line: the 12th and 13th fields after the command name (which may hold spaces). */
function ticksOfStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function stopNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
