import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LanePty, startLanePty } from '../../bench/lane-pty.js';
import { type LaneSim, startLaneSim } from '../../bench/lane-sim.js';
import { compiledModuleUrl } from '../../platform/modules.js';
import { UNIX_SOCKET_PREFIX } from '../../reader/tty-port.js';

/** One store box of the demo: a node process, its simulated reader and the pty pair between them. */
export interface StoreNode {
  readonly id: string;
  readonly dir: string;
  readonly apiUrl: string;
  readonly statusUrl: string;
  readonly journalPath: string;
  /** The box dies at once: SIGKILL, nothing flushed or said. */
  kill(): Promise<void>;
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
}

export async function startStoreNode(options: StoreNodeOptions): Promise<StoreNode> {
  const cleanups: (() => Promise<void>)[] = [];
  let readerPath: string;
  let nodePath: string;
  if (options.transport === 'pty') {
    const pty: LanePty = await startLanePty(options.dir);
    cleanups.push(() => pty.close());
    readerPath = pty.readerPath;
    nodePath = pty.nodePath;
  } else {
    readerPath = `${UNIX_SOCKET_PREFIX}${join(options.dir, 'reader.sock')}`;
    nodePath = readerPath;
  }
  const sim: LaneSim = await startLaneSim({ port: readerPath, profile: 'edgepay-sim', seed: options.seed, pace: false, cards: options.cards });
  cleanups.push(() => sim.stop());
  const configFile = join(options.dir, 'node.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      ...options.config,
      lanes: [{ id: 'lane-1', port: nodePath, profile: 'edgepay-sim' }],
      api: { host: '127.0.0.1', port: options.apiPort },
      observability: { host: '127.0.0.1', port: options.statusPort },
    }),
  );
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(compiledModuleUrl('cli/main')), 'node', 'run', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => (log = (log + text).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const apiUrl = `http://127.0.0.1:${options.apiPort}`;
  const statusUrl = `http://127.0.0.1:${options.statusPort}`;
  const node: StoreNode = {
    id: options.id,
    dir: options.dir,
    apiUrl,
    statusUrl,
    journalPath: join(options.dir, 'data', 'journal.db'),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    },
  };
  // Ready when its lane's reader is: the tree is up and the reader shook hands over the pty.
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await node.stop();
      throw new Error(`${options.id} exited at start:\n${log}`);
    }
    const state = await fetch(`${apiUrl}/v1/lanes`)
      .then(async (r) => ((await r.json()) as { lanes?: { reader?: { state?: string } | null }[] }).lanes?.[0]?.reader?.state)
      .catch(() => undefined);
    if (state === 'ready') return node;
    if (Date.now() > deadline) {
      await node.stop();
      throw new Error(`${options.id}'s reader did not become ready (last state ${String(state)}):\n${log}\n${sim.describe()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
