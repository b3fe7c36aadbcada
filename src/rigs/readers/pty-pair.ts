import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EdgepayError } from '../../errors.js';

/*
 * A reader's serial cable: socat joins two pseudo-terminals, one for the reader (the simulator, or
 * a test playing the reader) and one for the node, as a null-modem cable would. Real ttys, so the
 * node's tty port and the simulator's serialport run exactly as they do against hardware. Killing
 * socat is the closest thing to pulling the USB plug: both ends see the device go.
 */

export interface PtyPair {
  readonly readerPath: string;
  readonly nodePath: string;
  /** Pulls the plug: socat dies at once and the links vanish, as udev removes the device node. */
  kill(): Promise<void>;
  /** Plugs the reader back in: a new pair under the same link names. */
  restart(): Promise<void>;
  /** Kills socat and removes the links; safe to call twice. */
  close(): Promise<void>;
}

export interface PtyLinkNames {
  readonly reader: string;
  readonly node: string;
}

const SOCAT = 'socat';
const READY_TIMEOUT_MS = 5_000;
const DEFAULT_LINKS: PtyLinkNames = { reader: 'reader.tty', node: 'node.tty' };

/** Fails loudly without socat: a rig that quietly fell back would measure or test something else. */
export function requireSocat(): void {
  const problem = socatProblem();
  if (problem !== undefined) {
    throw new EdgepayError(
      'EDGEPAY_READER_UNAVAILABLE',
      `a reader on a serial line needs socat to join the reader and the node with a pty pair, and it could not be run (${problem}): install it, e.g. \`apt-get install socat\``,
      { tool: SOCAT },
    );
  }
}

/** True when socat can be run here. */
export function hasSocat(): boolean {
  return socatProblem() === undefined;
}

/** Why `socat -V` cannot be run, or undefined when it can. */
function socatProblem(): string | undefined {
  const probe = spawnSync(SOCAT, ['-V'], { stdio: 'ignore' });
  if (probe.error !== undefined) return probe.error.message;
  return probe.status === 0 ? undefined : `exit ${String(probe.status)}`;
}

/** A pty pair whose links are `dir/<links.reader>` and `dir/<links.node>`, transferring once this resolves. */
export async function startPtyPair(dir: string, links: PtyLinkNames = DEFAULT_LINKS): Promise<PtyPair> {
  requireSocat();
  const readerPath = join(dir, links.reader);
  const nodePath = join(dir, links.node);
  let child: ChildProcess | undefined;

  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      // SIGKILL, not SIGTERM: an unplugged cable gives nobody a chance to clean up.
      proc.kill('SIGKILL');
      await exited;
    }
    // SIGKILL leaves the links behind, pointing at pts numbers a later pair may reuse.
    for (const path of [readerPath, nodePath]) rmSync(path, { force: true });
  };

  const start = async (): Promise<void> => {
    for (const path of [readerPath, nodePath]) rmSync(path, { force: true });
    child = spawn(SOCAT, ['-d', '-d', `pty,raw,echo=0,link=${readerPath}`, `pty,raw,echo=0,link=${nodePath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      await untilTransferring(child, [readerPath, nodePath]);
    } catch (error) {
      await kill();
      throw error;
    }
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
    close: kill,
  };
}

async function untilTransferring(child: ChildProcess, links: readonly string[]): Promise<void> {
  let log = '';
  let transferring = false;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    log += text;
    if (text.includes('starting data transfer loop')) transferring = true;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(transferring && links.every((link) => existsSync(link)))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`socat exited before the pty pair was ready:\n${log}`);
    if (Date.now() > deadline) throw new Error(`socat did not create ${links.join(' and ')} within ${READY_TIMEOUT_MS} ms:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
