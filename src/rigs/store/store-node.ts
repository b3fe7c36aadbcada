import type { ChildProcess } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiAuthHeaders } from '../../api/client-auth.js';
import { type PtyPair, startPtyPair } from '../readers/pty-pair.js';
import { type ReaderSim, type SecureReaderFiles, startReaderSim } from '../readers/reader-sim.js';
import { parseNodeConfig } from '../../config/node-config.js';
import { initNode } from '../../app/init.js';
import { storeProgramPath } from '../../platform/modules.js';
import { UNIX_SOCKET_PREFIX } from '../../reader/tty-port.js';
import { HeldSocket, spawnWithSocket } from '../network/held-socket.js';
import { Closers } from '../closers.js';

/** One store box: a node process, its simulated reader and the pty pair between them. */
export interface StoreNode {
  readonly id: string;
  readonly dir: string;
  readonly apiUrl: string;
  /** What every request to apiUrl carries: the node's bearer token. */
  readonly apiHeaders: Readonly<Record<string, string>>;
  readonly statusUrl: string;
  readonly journalPath: string;
  /** The node's data directory (journal, replicas, state): what a dead disk takes with it. */
  readonly dataDir: string;
  /** The configuration file `node run` reads, for the operator's commands on the box. */
  readonly configPath: string;
  /** The environment the node runs with (its credentials), for the operator's commands on the box. */
  readonly env: Readonly<NodeJS.ProcessEnv>;
  /** The process runs (it may be paused). */
  readonly running: boolean;
  /**
   * The node process dies at once: SIGKILL, nothing flushed or said. Its POS API socket stays held,
   * as systemd holds edgepay-node.socket: the POS's connections wait for the restarted node.
   */
  kill(): Promise<void>;
  /** The whole box loses power: the process killed and the API socket gone with it, refusing connections until restart(). */
  powerOff(): Promise<void>;
  /** After kill() or powerOff(): the node process starts again on the same data, reader and ports, ready when its reader is. */
  restart(): Promise<void>;
  /** SIGSTOP: the process freezes mid-work, sockets open, as under a hung kernel or a debugger. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /**
   * The reader's cable pulled: the pty pair (socat) and the simulated reader behind it are gone, so
   * the node's device vanishes as a USB serial adapter's does. Safe to call twice.
   */
  unplugReader(): Promise<void>;
  /**
   * The cable back in: a pty pair on the same paths and the simulated reader started on it again;
   * resolves once the node has found its reader by itself and it is ready. Safe when plugged in.
   */
  replugReader(): Promise<void>;
  stop(): Promise<void>;
}

export interface StoreNodeOptions {
  readonly id: string;
  readonly dir: string;
  /** The node configuration without its lanes, API and observability, which this module adds. */
  readonly config: Record<string, unknown>;
  readonly apiPort: number;
  readonly statusPort: number;
  readonly cards: string;
  readonly seed: number;
  /** pty: a socat pseudo-terminal pair, as a serial cable; unix: a Unix socket, for machines without socat. */
  readonly transport: 'pty' | 'unix';
  /** How long a (re)start may take until the reader is ready. */
  readonly readyTimeoutMs?: number;
  /** Added to the node process's environment: CREDENTIALS_DIRECTORY for its credential:<name> keys. */
  readonly env?: Readonly<Record<string, string>>;
  /** Keep the process's stdout (its pino log) in node.stdout beside its data; dropped otherwise. */
  readonly keepStdout?: boolean;
  /** A secure reader (protocol 1.1) whose key the lane pins; a 1.0 reader, card data in clear, without it. */
  readonly secureReader?: SecureReaderFiles;
}

const READY_TIMEOUT_MS = 20_000;

/** The API's token file in a box's directory, written by `node init`. */
const API_TOKEN_FILE = 'api.token';

export async function startStoreNode(options: StoreNodeOptions): Promise<StoreNode> {
  const api = { host: '127.0.0.1', port: options.apiPort, tokenFile: API_TOKEN_FILE };
  // A new box: its journal and API token made once, as an operator does before the first start; restarts find them there.
  const env = { ...process.env, ...options.env };
  const parsed = parseNodeConfig({ ...options.config, api }, options.dir, env);
  initNode(parsed);
  const apiHeaders = apiAuthHeaders(parsed.api);
  const cleanups = new Closers();
  let readerPath: string;
  let nodePath: string;
  // The pty pair and the simulated reader (below) are made again when the reader is plugged back in; undefined while unplugged.
  let pty: PtyPair | undefined;
  if (options.transport === 'pty') {
    pty = await startPtyPair(options.dir);
    readerPath = pty.readerPath;
    nodePath = pty.nodePath;
  } else {
    readerPath = `${UNIX_SOCKET_PREFIX}${join(options.dir, 'reader.sock')}`;
    nodePath = readerPath;
  }
  cleanups.push(async () => pty?.close());
  let plugs = 0;
  // A replugged reader gets a seed of its own: the same seed would present the same "new" cards again.
  const startSim = (): Promise<ReaderSim> =>
    startReaderSim({
      port: readerPath,
      profile: 'edgepay-sim',
      seed: (options.seed + plugs * 0x9e37_79b1) >>> 0,
      pace: false,
      cards: options.cards,
      ...(options.secureReader === undefined ? {} : { secure: options.secureReader }),
    });
  let sim: ReaderSim | undefined = await startSim();
  cleanups.push(async () => sim?.stop());
  const configFile = join(options.dir, 'node.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      ...options.config,
      lanes: [{ id: 'lane-1', port: nodePath, profile: 'edgepay-sim', ...(options.secureReader === undefined ? {} : { readerPublicKey: options.secureReader.publicKey }) }],
      api,
      observability: { host: '127.0.0.1', port: options.statusPort },
    }),
  );
  const apiUrl = `http://127.0.0.1:${options.apiPort}`;
  // The POS API's socket, held here as systemd holds edgepay-node.socket on a box.
  let apiSocket = HeldSocket.bind(api.host, api.port);
  cleanups.push(async () => apiSocket.release());
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  const alive = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const spawnNode = (): void => {
    if (!apiSocket.held) apiSocket = HeldSocket.bind(api.host, api.port);
    const started = spawnWithSocket(process.execPath, [storeProgramPath(), 'node', 'run', '--config', configFile], apiSocket, 'api', { stdio: ['ignore', options.keepStdout === true ? 'pipe' : 'ignore', 'pipe'], env });
    child = started;
    // Its JSON log lines, as journald would get them, for the tests that read them line by line.
    if (options.keepStdout === true) started.stdout?.pipe(createWriteStream(join(options.dir, 'node.stdout'), { flags: 'a', mode: 0o600 }));
    // The node's log stays on the box as journald would keep it: node.log beside its data.
    const logFile = createWriteStream(join(options.dir, 'node.log'), { flags: 'a', mode: 0o600 });
    started.stderr?.setEncoding('utf8');
    started.stderr?.on('data', (text: string) => {
      log = (log + text).slice(-4_000);
      logFile.write(text);
    });
    started.once('exit', () => logFile.end());
    exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
  };
  // Ready when its lane's reader is: the tree is up and the reader shook hands over the pty.
  const untilReady = async (): Promise<void> => {
    const deadline = Date.now() + (options.readyTimeoutMs ?? READY_TIMEOUT_MS);
    for (;;) {
      if (!alive()) throw new Error(`${options.id} exited at start:\n${log}`);
      const state = await readerState(apiUrl, apiHeaders);
      if (state === 'ready') return;
      if (Date.now() > deadline) throw new Error(`${options.id}'s reader did not become ready (last state ${String(state)}):\n${log}\n${sim?.describe() ?? 'simulated reader unplugged'}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const signal = (name: NodeJS.Signals): void => {
    if (alive()) child?.kill(name);
  };
  const node: StoreNode = {
    id: options.id,
    dir: options.dir,
    apiUrl,
    apiHeaders,
    statusUrl: `http://127.0.0.1:${options.statusPort}`,
    journalPath: join(parsed.dataDir, 'journal.db'),
    dataDir: parsed.dataDir,
    configPath: configFile,
    env,
    get running() {
      return alive();
    },
    async kill() {
      if (!alive()) return;
      child?.kill('SIGKILL');
      await exited;
    },
    async powerOff() {
      await node.kill();
      apiSocket.release();
    },
    async restart() {
      if (alive()) return;
      spawnNode();
      await untilReady();
    },
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async unplugReader() {
      // The cable first, as a hand pulls it: the node and the reader each lose the line mid-frame.
      await pty?.close();
      pty = undefined;
      await sim?.stop();
      sim = undefined;
    },
    async replugReader() {
      if (sim !== undefined) return;
      if (options.transport === 'pty' && pty === undefined) pty = await startPtyPair(options.dir);
      plugs++;
      sim = await startSim();
      if (alive()) await untilReady();
    },
    async stop() {
      if (alive()) {
        // A paused process cannot act on SIGTERM until it runs again.
        child?.kill('SIGCONT');
        child?.kill('SIGTERM');
        await exited;
      }
      await cleanups.close();
    },
  };
  spawnNode();
  try {
    await untilReady();
  } catch (error) {
    await node.stop();
    throw error;
  }
  return node;
}

/** The state of a box's lane reader from its payment API (`ready` when it takes a card); undefined when the box does not answer. */
export async function readerState(apiUrl: string, headers: Readonly<Record<string, string>>): Promise<string | undefined> {
  return fetch(`${apiUrl}/v1/lanes`, { headers, signal: AbortSignal.timeout(2_000) })
    .then(async (r) => ((await r.json()) as { lanes?: { reader?: { state?: string } | null }[] }).lanes?.[0]?.reader?.state)
    .catch(() => undefined);
}

/** How far a box holds `origin`'s journal, from its status page; -1 when the box does not answer. */
export async function peerHead(statusUrl: string, origin: string): Promise<number> {
  try {
    const status = (await (await fetch(`${statusUrl}/status.json`, { signal: AbortSignal.timeout(2_000) })).json()) as { peers?: { nodeId: string; headSeq: number }[] };
    return status.peers?.find((p) => p.nodeId === origin)?.headSeq ?? 0;
  } catch {
    return -1;
  }
}
