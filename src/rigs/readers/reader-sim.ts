import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compiledModuleUrl } from '../../platform/modules.js';

export interface ReaderSimOptions {
  readonly port: string;
  readonly profile: string;
  readonly seed: number;
  readonly pace: boolean;
  /** The card script (see `edgepay reader simulate --cards`); `good` by default. */
  readonly cards?: string;
  /** Key files for secure sessions (reader protocol 1.1); a 1.0 reader without them. */
  readonly secure?: SecureReaderFiles;
}

/** What a secure reader is provisioned with, as files (base64 of 32 bytes each), and the key its lane pins. */
export interface SecureReaderFiles {
  readonly seedFile: string;
  readonly tokenKeyFile: string;
  readonly centreKeyFile: string;
  /** Base64 of the reader's public key: the lane's readerPublicKey. */
  readonly publicKey: string;
}

export interface ReaderSim {
  /** Whether it runs, and its last status lines: what an error message needs to be acted on. */
  describe(): string;
  /** SIGTERM, then SIGKILL if it has not exited in time; safe to call twice. */
  stop(): Promise<void>;
}

const OPEN_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 3_000;
/** Enough status lines to explain a failure (a payment logs four or five), not a long run's worth. */
const LOG_TAIL_LINES = 12;
const LOG_TAIL_CHARS = 4_000;

/** Starts the simulated reader process and resolves once it has its end of the line open. */
export async function startReaderSim(options: ReaderSimOptions): Promise<ReaderSim> {
  // Compiled even when the bench runs from source: it is a process of its own, as firmware is.
  const entry = fileURLToPath(compiledModuleUrl('rigs/readers/reader-sim-process'));
  const args = [entry, '--port', options.port, '--profile', options.profile, '--cards', options.cards ?? 'good', '--seed', String(options.seed), ...(options.pace ? ['--pace'] : []), ...secureArgs(options.secure)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  let opened = false;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    tail += text;
    // Cut at a line start, so the lines kept are whole.
    if (tail.length > LOG_TAIL_CHARS) tail = tail.slice(tail.indexOf('\n', tail.length - LOG_TAIL_CHARS) + 1);
    if (/reader-sim: port .* open/.test(tail)) opened = true;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const describe = (): string => {
    const state = child.exitCode !== null || child.signalCode !== null ? `exited (${String(child.exitCode ?? child.signalCode)})` : 'running';
    return `simulated reader ${state}; its last lines:\n${tail.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n')}`;
  };
  const sim: ReaderSim = { describe, stop: () => stopChild(child, exited) };
  const deadline = Date.now() + OPEN_TIMEOUT_MS;
  while (!opened) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the simulated reader could not open ${options.port}: ${describe()}`);
    if (Date.now() > deadline) {
      await sim.stop();
      throw new Error(`the simulated reader did not open ${options.port} within ${OPEN_TIMEOUT_MS} ms: ${describe()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return sim;
}

function secureArgs(secure: SecureReaderFiles | undefined): string[] {
  if (secure === undefined) return [];
  return ['--reader-seed-file', secure.seedFile, '--token-key-file', secure.tokenKeyFile, '--centre-key-file', secure.centreKeyFile];
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_GRACE_MS)));
  if ((await Promise.race([exited, late])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}
