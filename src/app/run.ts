import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { type ServiceNotifier, notifierFromEnv } from '../service/sd-notify.js';
import type { NodeConfig } from '../config/node-config.js';
import { NodeRuntime } from './runtime.js';
import { startFailureCause } from './start-failure.js';

export interface RunOptions {
  readonly config: NodeConfig;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Called once the tree is up, with the runtime (the POS API attaches here when it lands). */
  readonly onReady?: (runtime: NodeRuntime) => void;
  /** systemd's notify socket; taken from the environment by default. */
  readonly notifier?: ServiceNotifier;
}

/** One watchdog period: a ping only if every child of the tree runs; otherwise the status says which do not. */
export function watchdogTick(children: readonly { readonly id: string; readonly state: string }[], notifier: Pick<ServiceNotifier, 'watchdog' | 'status'>): void {
  const unwell = children.filter((child) => child.state !== 'running');
  if (unwell.length === 0) notifier.watchdog();
  else notifier.status(`restarting: ${unwell.map((child) => child.id).join(', ')}`);
}

/** What the process should exit with. */
export type RunResult = { readonly exitCode: number; readonly reason: string };

/**
 * Runs a node until SIGTERM or SIGINT (then: stop taking payments, answer those in flight, flush
 * and close the journal, exit 0) or until the tree gives up (exit 1, so systemd restarts the
 * whole process: the next level of supervision). Under systemd (Type=notify) it reports READY once
 * the tree is up, STOPPING on the signal, and feeds the watchdog only while every child of the
 * tree is running: a tree stuck restarting stops the pings, and systemd restarts the process.
 */
export async function runNodeUntilSignal(options: RunOptions): Promise<RunResult> {
  const notifier = options.notifier ?? notifierFromEnv();
  const runtime = await NodeRuntime.start(options).catch((error: unknown) => {
    throw startFailureCause(error);
  });
  options.onReady?.(runtime);
  const lanes = options.config.lanes.length;
  notifier.ready(`serving: ${lanes} lane${lanes === 1 ? '' : 's'}${options.config.api === undefined ? '' : ', POS API up'}`);
  const watchdog = notifier.watchdogIntervalMs === undefined ? undefined : setInterval(() => watchdogTick(runtime.supervisor.children(), notifier), notifier.watchdogIntervalMs);
  watchdog?.unref();
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  try {
    const outcome = await Promise.race([signalled.then((signal) => ({ signal })), runtime.exited.then((exit) => ({ exit }))]);
    if ('signal' in outcome) {
      options.logger.info({ signal: outcome.signal }, 'signal received: stopping');
      notifier.stopping(`stopping on ${outcome.signal}: answering the payments in flight`);
      const exit = await runtime.stop();
      const clean = exit.cause === 'shutdown' || exit.cause === 'normal';
      return { exitCode: clean ? 0 : 1, reason: `stopped on ${outcome.signal} (${exit.cause})` };
    }
    options.logger.fatal({ cause: outcome.exit.cause, err: outcome.exit.error }, 'supervision tree gave up');
    return { exitCode: 1, reason: `supervision tree exited: ${outcome.exit.cause}` };
  } finally {
    if (watchdog !== undefined) clearInterval(watchdog);
    notifier.close();
  }
}
