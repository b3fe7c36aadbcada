import { EdgepayError } from '../errors.js';
import { unwrapRemote } from '../node/remote-errors.js';

/** Deepest cause looked at: supervisors nest a few levels, a cycle must not loop. */
const MAX_CAUSE_DEPTH = 16;

/**
 * Why a node failed to start, as its operator needs it. A child that fails in its start reaches
 * the caller wrapped by every supervisor above it (and, from an actor's thread, as a remote
 * error), which would turn "journal in use" or "another node's journal" into a generic start
 * failure with exit code 3. The first edgepay error in the cause chain is the reason; without one
 * the error is given back as it is.
 */
export function startFailureCause(error: unknown): unknown {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current instanceof Error; depth++) {
    if (current instanceof EdgepayError) return current;
    const unwrapped = unwrapRemote(current);
    if (unwrapped instanceof EdgepayError) return unwrapped;
    current = current.cause;
  }
  return error;
}
