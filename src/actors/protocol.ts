/*
 * The messages between an actor's worker and its parent. Small tagged objects: structured clone
 * copies them on every hop, so each field here is paid for on the request path.
 */
import type { ForwardedLog } from './log-record.js';
import type { WireError } from './wire-error.js';

/** What the parent hands the worker at start (workerData). */
export interface ActorWorkerData {
  readonly actorId: string;
  readonly init: unknown;
  readonly heartbeatMs: number;
  /** One Int32 the worker increments every heartbeatMs; read directly, so a busy parent queue cannot delay it. */
  readonly heartbeat: SharedArrayBuffer;
  /** Log calls below this pino level are dropped in the worker instead of crossing threads. */
  readonly logLevel: number;
}

/** What a spare thread's host may receive before its assignment: the actor module to import ahead of need. */
export interface HostPreload {
  readonly t: 'preload';
  /** file: URL of the compiled actor module. */
  readonly module: string;
}

/** The last message a spare thread's host receives: which actor it becomes. */
export interface HostAssignment {
  readonly t: 'host';
  /** file: URL of the compiled actor module. */
  readonly module: string;
  readonly data: ActorWorkerData;
}

export type ToWorker =
  | { readonly t: 'req'; readonly id: number; readonly body: unknown }
  | { readonly t: 'call-ok'; readonly id: number; readonly body: unknown }
  | { readonly t: 'call-err'; readonly id: number; readonly to: string; readonly error: WireError }
  | { readonly t: 'stop' };

export type FromWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'init-failed'; readonly error: WireError }
  | { readonly t: 'ok'; readonly id: number; readonly body: unknown }
  | { readonly t: 'err'; readonly id: number; readonly error: WireError }
  | { readonly t: 'call'; readonly id: number; readonly to: string; readonly body: unknown; readonly timeoutMs: number }
  | { readonly t: 'log'; readonly record: ForwardedLog }
  /** The actor stopped itself (ctx.stop): its exit will be 'normal'. */
  | { readonly t: 'done' }
  /** A spare's host finished importing the module it preloaded (or failed to: reported when assigned). */
  | { readonly t: 'preloaded' };

export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
