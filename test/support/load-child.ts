import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('../../dist/rigs/node/node-load-child.js', import.meta.url));

/** A real node process (src/rigs/node/node-load-child.ts) run as `edgepay node run` runs it, fed payments until SIGTERM. */
export interface LoadChild {
  readonly child: ChildProcess;
  /** idempotency key → [seq, approved] of every decision it announced. */
  readonly acks: ReadonlyMap<string, readonly [number, boolean]>;
  stderr(): string;
  /** SIGTERM, then its exit code and the DONE line's counts (accepted, answered). */
  stop(): Promise<{ readonly code: number | null; readonly done: readonly [number, number] | undefined }>;
}

export function startLoadChild(configFile: string, concurrency: number): LoadChild {
  if (!existsSync(CHILD)) throw new Error(`${CHILD} is missing: run \`npx tsc -p tsconfig.build.json\``);
  const child = spawn(process.execPath, [CHILD, configFile, String(concurrency)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks = new Map<string, readonly [number, boolean]>();
  let done: [number, number] | undefined;
  let stderr = '';
  let buffered = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [kind, a, b, c] = line.split(' ');
      if (kind === 'ACK') acks.set(b!, [Number(a), c === '1']);
      if (kind === 'DONE') done = [Number(a), Number(b)];
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    acks,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return { code: await exited, done };
    },
  };
}
