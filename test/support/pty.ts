import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ActorHandle, startActor } from '../../src/actors/actor.js';
import { moduleUrl } from '../../src/actors/modules.js';
import { type ReaderProfile, loadReaderProfile } from '../../src/reader/profile.js';
import { testCardKeys } from './card-keys.js';
import { isRunning, watchChild } from './child-output.js';
import { READER_MODULE, type ReaderInit, type ReaderReply, type ReaderRequest, type ReaderStatus } from '../../src/reader/reader-actor-protocol.js';

/*
 * Real serial lines for the reader tests: socat joins two pseudo-terminals, one for the reader
 * (the simulator, or a test playing the reader) and one for the node, as a null-modem cable
 * would. Killing socat is the closest thing to pulling the USB plug: both ends see the device go.
 */

export interface PtyPair {
  readonly readerPath: string;
  readonly nodePath: string;
  /** Pulls the plug: socat dies at once and the links vanish, as udev removes the device node. */
  kill(): Promise<void>;
  /** Plugs the reader back in: a new pair under the same link names. */
  restart(): Promise<void>;
}

const SOCAT = 'socat';
const READY_TIMEOUT_MS = 5000;

export function requireSocat(): void {
  const probe = spawnSync(SOCAT, ['-V'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    // A skipped serial test would hide a broken reader path in CI, so this fails loudly instead.
    throw new Error(`socat is required by the reader tests and could not be run (${probe.error?.message ?? `exit ${probe.status}`}): install it, e.g. \`apt-get install socat\``);
  }
}

export async function startPtyPair(dir: string): Promise<PtyPair> {
  requireSocat();
  const readerPath = join(dir, 'reader');
  const nodePath = join(dir, 'node');
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    removeLinks(readerPath, nodePath);
    const proc = spawn(SOCAT, ['-d', '-d', `pty,raw,echo=0,link=${readerPath}`, `pty,raw,echo=0,link=${nodePath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let log = '';
    let transferring = false;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (text: string) => {
      log += text;
      if (text.includes('starting data transfer loop')) transferring = true;
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(transferring && existsSync(readerPath) && existsSync(nodePath))) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`socat exited before the pty pair was ready:\n${log}`);
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`socat did not create ${readerPath} and ${nodePath} within ${READY_TIMEOUT_MS} ms:\n${log}`);
      }
      await sleep(10);
    }
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      // SIGKILL, not SIGTERM: an unplugged cable gives nobody a chance to clean up.
      proc.kill('SIGKILL');
      await exited;
    }
    // SIGKILL leaves the links behind, pointing at pts numbers the next pair may reuse.
    removeLinks(readerPath, nodePath);
  };

  await start();
  return {
    readerPath,
    nodePath,
    kill,
    restart: async () => {
      await kill();
      await start();
    },
  };
}

function removeLinks(...paths: string[]): void {
  for (const path of paths) rmSync(path, { force: true });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` returns a value (not undefined) or throws the last reason after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/*
 * The simulator runs as its own process, as firmware on a separate device would, from the
 * compiled command module: the test does not depend on the lead wiring it into main.ts.
 */
const READER_COMMANDS = fileURLToPath(new URL('../../dist/cli/reader-commands.js', import.meta.url));

export interface SimulatorProcess {
  readonly child: ChildProcess;
  /** Everything the simulator printed to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  stop(): Promise<number | string>;
}

export function startSimulator(args: readonly string[]): SimulatorProcess {
  if (!existsSync(READER_COMMANDS)) throw new Error(`${READER_COMMANDS} is missing: run \`npm run build\` first`);
  const script = [
    "import { Command } from 'commander';",
    `import { registerReaderCommands } from ${JSON.stringify(new URL(`file://${READER_COMMANDS}`).href)};`,
    'const program = new Command().name("edgepay").exitOverride();',
    'registerReaderCommands(program);',
    'await program.parseAsync(process.argv.slice(1), { from: "user" });',
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // commander is resolved from the package, like the installed CLI would.
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
  });
  const { stderr, exited } = watchChild(child);
  return {
    child,
    stderr,
    exited,
    stop: async () => {
      if (isRunning(child)) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The sim profile with test-sized timeouts: the tests wait on health polls and card timeouts. */
export function testProfile(timeouts: Partial<ReaderProfile['timeouts']> = {}): ReaderProfile {
  const profile = loadReaderProfile('edgepay-sim');
  return { ...profile, timeouts: { ...profile.timeouts, ...timeouts } };
}

export type ReaderActor = ActorHandle<ReaderRequest, ReaderReply>;

/** The reader actor as a lane starts it: a worker from dist/, on the node end of the pair. */
export async function startReaderActor(port: string, profile = testProfile(), lane = 'lane-1'): Promise<ReaderActor> {
  const init: ReaderInit = { lane, port, profile, keys: (await testCardKeys()).files };
  return startActor<ReaderRequest, ReaderReply>({ id: `reader-${lane}`, module: moduleUrl(READER_MODULE), init, mailboxCapacity: 16 });
}

export async function readerStatus(actor: ReaderActor): Promise<ReaderStatus> {
  return (await actor.request({ type: 'status' })) as ReaderStatus;
}

export function waitForState(actor: ReaderActor, state: ReaderStatus['state'], timeoutMs = 5000): Promise<ReaderStatus> {
  return eventually(
    async () => {
      const status = await readerStatus(actor);
      return status.state === state ? status : undefined;
    },
    timeoutMs,
    `reader state ${state}`,
  );
}
