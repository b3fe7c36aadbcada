import { RUNTIME_CODES } from '../actors/errors.js';
import { EdgepayError, type ErrorCode } from '../errors.js';

/**
 * A domain error thrown inside an actor (an idempotency conflict, a bad request) reaches the
 * caller as the runtime's remote error; callers of the node branch on the domain code, so it is
 * given back its own code, message and details. Runtime failures stay as they are.
 */
export function unwrapRemote(error: unknown): unknown {
  const e = error as { code?: unknown; message?: string; details?: { remoteCode?: unknown; remoteDetails?: unknown } };
  if (e?.code !== 'EDGEPAY_ACTOR_REMOTE_ERROR') return error;
  const remoteCode = e.details?.remoteCode;
  if (typeof remoteCode !== 'string' || !remoteCode.startsWith('EDGEPAY_') || RUNTIME_CODES.has(remoteCode)) return error;
  const details = (e.details?.remoteDetails ?? {}) as Record<string, unknown>;
  return new EdgepayError(remoteCode as ErrorCode, e.message ?? remoteCode, details, { cause: error });
}
