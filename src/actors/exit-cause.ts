import type { ChildExit } from './child.js';

/** What the parent knows when the thread's 'exit' event arrives. */
export interface ExitFacts {
  /** The first abnormal verdict reached before the exit (error event, missed heartbeats, stop timeout). */
  readonly verdict: ChildExit | undefined;
  readonly stopRequested: boolean;
  /** The actor called ctx.stop(). */
  readonly selfStopped: boolean;
  readonly exitCode: number;
}

/**
 * An exit the parent did not ask for is abnormal even with code 0: an actor is long-lived, so a
 * thread that simply ended (process.exit(0), or an event loop that ran dry) lost its mailbox.
 */
export function classifyExit(facts: ExitFacts): ChildExit {
  const { verdict, exitCode } = facts;
  if (verdict !== undefined) return { ...verdict, exitCode };
  if (exitCode === 0 && facts.selfStopped) return { cause: 'normal', exitCode };
  if (exitCode === 0 && facts.stopRequested) return { cause: 'shutdown', exitCode };
  return { cause: 'exit', exitCode };
}

/** The worker's 'error' event: an uncaught exception, an unhandled rejection, or its resource limits. */
export function verdictFromError(error: Error): ChildExit {
  const code = (error as Error & { code?: unknown }).code;
  return code === 'ERR_WORKER_OUT_OF_MEMORY' ? { cause: 'resource_limits', error } : { cause: 'crash', error };
}
