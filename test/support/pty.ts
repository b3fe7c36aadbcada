import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ActorHandle, startActor } from '../../src/actors/actor.js';
import { moduleUrl } from '../../src/actors/modules.js';
import { type ReaderProfile, loadReaderProfile } from '../../src/reader/profile.js';
import { type PtyPair, startPtyPair as startRigPtyPair } from '../../src/rigs/readers/pty-pair.js';
import { testCardKeys } from './card-keys.js';
import { isRunning, watchChild } from './child-output.js';
import { READER_MODULE, type ReaderInit, type ReaderReply, type ReaderRequest, type ReaderStatus } from '../../src/reader/reader-actor-protocol.js';

/* Real serial lines for the reader tests (the rig's pty pair), the reader simulator in a process of its own, and the reader actor. */

export { type PtyPair, requireSocat } from '../../src/rigs/readers/pty-pair.js';

/** The rig's pty pair, under the link names the reader tests have always used. */
export function startPtyPair(dir: string): Promise<PtyPair> {
  return startRigPtyPair(dir, { reader: 'reader', node: 'node' });
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
export async function startReaderActor(port: string, profile = testProfile(), lane = 'lane-1', readerPublicKey?: string): Promise<ReaderActor> {
  const init: ReaderInit = { lane, port, profile, keys: (await testCardKeys()).files, ...(readerPublicKey === undefined ? {} : { readerPublicKey }) };
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
