import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { isRunning, watchChild } from './child-output.js';
import { STORE_PROGRAM } from './cli.js';
import { nodeConfigIn } from './node.js';

/** `edgepay node run` as a real process, the way systemd starts it. */
export interface NodeProcess {
  readonly child: ChildProcess;
  stderr(): string;
  /** The exit code, or the signal's name. */
  readonly exited: Promise<number | string>;
  /** SIGKILL unless it has exited; waits for the exit. */
  kill(): Promise<void>;
}

export function startNodeProcess(configFile: string): NodeProcess {
  if (!existsSync(STORE_PROGRAM)) throw new Error(`${STORE_PROGRAM} is missing: run \`npm run build\` (npm test does it first)`);
  const child = spawn(process.execPath, [STORE_PROGRAM, 'node', 'run', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  const { stderr, exited } = watchChild(child);
  return {
    child,
    stderr,
    exited,
    kill: async () => {
      if (isRunning(child)) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** GET /v1/lanes over a Unix socket: the body, or undefined when nothing answers. */
export function lanesOverSocket(socketPath: string, timeoutMs = 2_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/v1/lanes', method: 'GET', timeout: timeoutMs }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? text : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/**
 * A node configuration file in `dir` (JSON, paths relative to it) with real key files;
 * `extra` is merged into it. The node is not initialised: the tests say when.
 */
export async function nodeConfigFile(dir: string, extra: Record<string, unknown> = {}): Promise<string> {
  await nodeConfigIn(dir);
  const file = join(dir, 'node.json');
  writeFileSync(
    file,
    JSON.stringify({ nodeId: 'box-1', dataDir: 'data', keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true }, log: { level: 'warn' }, ...extra }),
  );
  return file;
}
