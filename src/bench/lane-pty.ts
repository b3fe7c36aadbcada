import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EdgepayError } from '../errors.js';

/*
 * The lane bench's serial cable: socat joins two pseudo-terminals, one for the simulated reader
 * and one for the node, as a null-modem cable would. Real ttys, so the node's tty port and the
 * simulator's serialport run exactly as they do against hardware.
 */

export interface LanePty {
  readonly readerPath: string;
  readonly nodePath: string;
  /** Kills socat and removes the links; safe to call twice. */
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 5_000;

export function requireSocat(): void {
  const probe = spawnSync('socat', ['-V'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new EdgepayError(
      'EDGEPAY_READER_UNAVAILABLE',
      `bench lane needs socat to join the reader and the node with a pty pair, and it could not be run (${probe.error?.message ?? `exit ${String(probe.status)}`}): install it, e.g. \`apt-get install socat\``,
      { tool: 'socat' },
    );
  }
}

export async function startLanePty(dir: string): Promise<LanePty> {
  requireSocat();
  const readerPath = join(dir, 'reader.tty');
  const nodePath = join(dir, 'node.tty');
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${readerPath}`, `pty,raw,echo=0,link=${nodePath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }
    // SIGKILL leaves the links behind, pointing at pts numbers a later pair may reuse.
    for (const path of [readerPath, nodePath]) rmSync(path, { force: true });
  };
  try {
    await untilTransferring(child, [readerPath, nodePath]);
  } catch (error) {
    await close();
    throw error;
  }
  return { readerPath, nodePath, close };
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
