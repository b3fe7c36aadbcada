/**
 * Failures of the actor runtime carry a stable code, like every other edgepay error, so callers
 * branch on codes. These codes live here rather than in src/errors.ts because they describe the
 * runtime, not the payment domain.
 */
import { CodedError } from '../errors.js';

export type ActorErrorCode =
  /** The actor's mailbox is full: rejected at once, never queued or dropped. */
  | 'EDGEPAY_ACTOR_OVERLOADED'
  /** The actor exited (or is stopping) with the request unanswered. */
  | 'EDGEPAY_ACTOR_DOWN'
  /** No reply within the request's timeout; a late reply is ignored. */
  | 'EDGEPAY_ACTOR_TIMEOUT'
  /** There is no route to the actor named in ctx.call (no router, or the router does not know it). */
  | 'EDGEPAY_ACTOR_UNAVAILABLE'
  /** The actor's handler threw: `remoteCode` is the code it threw, when it had one. */
  | 'EDGEPAY_ACTOR_REMOTE_ERROR'
  /** startActor failed: init threw, the worker died before it was ready, or it took too long. */
  | 'EDGEPAY_ACTOR_START_FAILED'
  /** A worker module is not compiled into dist/ (run `npm run build`). */
  | 'EDGEPAY_ACTOR_MODULE_MISSING';

/** The codes the runtime raises about the actor a caller addressed, as opposed to errors its handler threw. */
export const RUNTIME_CODES: ReadonlySet<string> = new Set<ActorErrorCode>([
  'EDGEPAY_ACTOR_OVERLOADED',
  'EDGEPAY_ACTOR_DOWN',
  'EDGEPAY_ACTOR_TIMEOUT',
  'EDGEPAY_ACTOR_UNAVAILABLE',
  'EDGEPAY_ACTOR_START_FAILED',
  'EDGEPAY_ACTOR_MODULE_MISSING',
]);

export class ActorError extends CodedError<ActorErrorCode> {
  /**
   * For 'EDGEPAY_ACTOR_REMOTE_ERROR': the code the remote handler threw (e.g. 'EDGEPAY_JOURNAL_FULL'),
   * kept verbatim across any number of hops; undefined when it threw an error without a code.
   */
  get remoteCode(): string | undefined {
    const code = this.details.remoteCode;
    return typeof code === 'string' ? code : undefined;
  }
}

export function isActorError(value: unknown, code?: ActorErrorCode): value is ActorError {
  return value instanceof ActorError && (code === undefined || value.code === code);
}

/**
 * True when an actor's handler (or one it called, however deep) threw an error with this code.
 * The remote code never replaces `code`: 'EDGEPAY_ACTOR_DOWN' always means the actor the caller
 * addressed is down, never that something behind it is.
 */
export function isRemoteError(value: unknown, remoteCode?: string): value is ActorError {
  return isActorError(value, 'EDGEPAY_ACTOR_REMOTE_ERROR') && (remoteCode === undefined || value.remoteCode === remoteCode);
}
