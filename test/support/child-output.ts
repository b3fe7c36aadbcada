import type { ChildProcess } from 'node:child_process';

/** What a test watches of a child process: everything it printed to stderr, and how it ended. */
export interface ChildOutput {
  stderr(): string;
  /** The exit code, or the signal's name. */
  readonly exited: Promise<number | string>;
}

/** Starts collecting the child's stderr (it must be piped) and its exit, from now on. */
export function watchChild(child: ChildProcess): ChildOutput {
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => (log += text));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { stderr: () => log, exited };
}

/** Whether the child still runs: neither exited nor killed by a signal. */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
