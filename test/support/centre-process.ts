import { type ChildProcess, spawn } from 'node:child_process';
import { CLI } from './cli.js';

export interface CentreProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Everything it printed so far, stdout and stderr together. */
  output(): string;
}

/** `edgepay centre run --config FILE` as its own process; `cleanups` kills it if a test leaves it running. */
export function startCentreProcess(configFile: string, cleanups: (() => unknown)[]): CentreProcess {
  const child = spawn(process.execPath, [CLI, 'centre', 'run', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, exited, output: () => output };
}
