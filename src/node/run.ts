import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { NodeConfig } from './config.js';
import { NodeRuntime } from './runtime.js';

export interface RunOptions {
  readonly config: NodeConfig;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Called once the tree is up, with the runtime (the POS API attaches here when it lands). */
  readonly onReady?: (runtime: NodeRuntime) => void;
}

/** What the process should exit with. */
export type RunResult = { readonly exitCode: number; readonly reason: string };

/**
 * Runs a node until SIGTERM or SIGINT (then: stop taking payments, answer those in flight, flush
 * and close the journal, exit 0) or until the tree gives up (exit 1, so systemd restarts the
 * whole process: the next level of supervision).
 */
export async function runNodeUntilSignal(options: RunOptions): Promise<RunResult> {
  const runtime = await NodeRuntime.start(options);
  options.onReady?.(runtime);
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const outcome = await Promise.race([signalled.then((signal) => ({ signal })), runtime.exited.then((exit) => ({ exit }))]);
  if ('signal' in outcome) {
    options.logger.info({ signal: outcome.signal }, 'signal received: stopping');
    const exit = await runtime.stop();
    const clean = exit.cause === 'shutdown' || exit.cause === 'normal';
    return { exitCode: clean ? 0 : 1, reason: `stopped on ${outcome.signal} (${exit.cause})` };
  }
  options.logger.fatal({ cause: outcome.exit.cause, err: outcome.exit.error }, 'supervision tree gave up');
  return { exitCode: 1, reason: `supervision tree exited: ${outcome.exit.cause}` };
}
