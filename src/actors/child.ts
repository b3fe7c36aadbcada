/**
 * The contract between a supervisor and what it supervises. An actor on a worker thread and a
 * nested supervisor both satisfy it, which is what lets supervisors nest into a tree.
 */

/** Why a child ended. Only 'normal' and 'shutdown' are clean exits. */
export type ExitCause =
  /** The child finished its work and stopped by itself. */
  | 'normal'
  /** Its supervisor (or the node) asked it to stop and it did. */
  | 'shutdown'
  /** An uncaught exception or unhandled rejection inside the worker. */
  | 'crash'
  /** process.exit() (or a non-zero exit) inside the worker. */
  | 'exit'
  /** The worker hit its resourceLimits (heap, stack). */
  | 'resource_limits'
  /** Missed heartbeats: the worker's event loop stopped turning, so it was terminated. */
  | 'hung'
  /** Did not stop within its shutdown timeout and was terminated. */
  | 'killed'
  /** A supervisor that exceeded its restart intensity and gave up. */
  | 'escalated'
  /** start() failed. */
  | 'start_failed';

export interface ChildExit {
  readonly cause: ExitCause;
  readonly error?: Error;
  readonly exitCode?: number;
}

export function isCleanExit(exit: ChildExit): boolean {
  return exit.cause === 'normal' || exit.cause === 'shutdown';
}

/** A running child. */
export interface ChildHandle {
  /** Settles exactly once, when the child has exited for any reason (never rejects). */
  readonly exited: Promise<ChildExit>;
  /**
   * Asks the child to stop: it finishes what it is doing and exits with 'shutdown'. If it has not
   * exited within timeoutMs it is terminated ('killed'). Resolves with the exit; safe to call twice.
   */
  stop(timeoutMs: number): Promise<ChildExit>;
}

/** OTP restart types. */
export type RestartType =
  /** Always restarted. */
  | 'permanent'
  /** Restarted only after an abnormal exit (not 'normal' or 'shutdown'). */
  | 'transient'
  /** Never restarted. */
  | 'temporary';

export interface ChildSpec<H extends ChildHandle = ChildHandle> {
  readonly id: string;
  /** Starts a fresh instance; rejects if it cannot start. */
  readonly start: () => Promise<H>;
  readonly restart: RestartType;
  readonly shutdownTimeoutMs: number;
}
