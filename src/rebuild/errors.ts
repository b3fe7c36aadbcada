import { CodedError } from '../errors.js';

/**
 * Why a rebuild from peers stopped short. Each one leaves the journal path as it was: nothing is
 * installed unless the rebuilt chain is whole and verified.
 */
export type RebuildErrorCode =
  /** A journal with entries (or an unreadable one) is already at the path; --force moves it aside. */
  | 'EDGEPAY_REBUILD_REFUSED'
  /** The node's retained status says it is online: the old box may still be writing this chain. */
  | 'EDGEPAY_REBUILD_ORIGIN_ONLINE'
  /** The store broker could not be reached or refused the connection or the subscriptions. */
  | 'EDGEPAY_REBUILD_UNREACHABLE'
  /** No verified entry 1 came back: there is nothing to rebuild from. */
  | 'EDGEPAY_REBUILD_EMPTY'
  /** The peers hold less than the node last announced, or two validly signed chains disagree. */
  | 'EDGEPAY_REBUILD_INCOMPLETE';

export class RebuildError extends CodedError<RebuildErrorCode> {}

export function isRebuildError(value: unknown, code?: RebuildErrorCode): value is RebuildError {
  return value instanceof RebuildError && (code === undefined || value.code === code);
}
