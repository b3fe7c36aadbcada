import type { ChildExit, ChildHandle } from './child.js';
import { SupervisorError, toError } from './supervisor-errors.js';
import type { SupervisorTimers } from './supervisor-timers.js';

export interface StopOutcome {
  readonly exit: ChildExit;
  /** False when the child's exit never settled and the guard wrote it off: it may still be alive. */
  readonly confirmed: boolean;
}

/**
 * Asks a child to stop with its own timeout (after which its handle terminates it) and waits for
 * `exited`, the one signal that it is really gone. The guard at timeoutMs + graceMs protects the
 * supervisor from a handle that breaks that promise: the child is then treated as killed so the
 * rest of the tree can still stop.
 */
export async function stopChild(childId: string, handle: ChildHandle, timeoutMs: number, graceMs: number, timers: SupervisorTimers): Promise<StopOutcome> {
  const settled = handle.exited.then(
    (exit): StopOutcome => ({ exit, confirmed: true }),
    // The contract says exited never rejects; if it does, the child is gone all the same.
    (error: unknown): StopOutcome => ({ exit: { cause: 'crash', error: toError(error) }, confirmed: true }),
  );
  try {
    // A broken runtime may throw or reject from stop(); only exited decides, so its failure is moot.
    handle.stop(timeoutMs).catch(() => undefined);
  } catch {
    // Same as above: fall through to waiting on exited and the guard.
  }
  let guardTimer: unknown;
  const guard = new Promise<StopOutcome>((resolve) => {
    guardTimer = timers.setTimeout(() => {
      const error = new SupervisorError('EDGEPAY_SUPERVISOR_STOP_TIMEOUT', `child ${childId} did not exit within ${timeoutMs} ms + ${graceMs} ms grace; treated as killed`, { childId, timeoutMs, graceMs });
      resolve({ exit: { cause: 'killed', error }, confirmed: false });
    }, timeoutMs + graceMs);
  });
  try {
    return await Promise.race([settled, guard]);
  } finally {
    timers.clearTimeout(guardTimer);
  }
}
