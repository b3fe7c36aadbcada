/**
 * Retries an idempotent call while an actor on its path is being restarted. Payments are keyed by
 * their idempotency key, so asking again is safe: if the first attempt was recorded, the retry
 * returns that decision; if not, it is decided now. Only "an actor was not there" is retried,
 * also when it happened further down the path (a remote error carrying such a code); overload and
 * every answer an actor gave are returned as they are.
 */
const RETRIABLE = new Set(['EDGEPAY_ACTOR_DOWN', 'EDGEPAY_ACTOR_UNAVAILABLE', 'EDGEPAY_ACTOR_TIMEOUT']);

export interface RetryOptions {
  /** Give up after this long and return the last error. */
  readonly deadlineMs: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export function isRetriable(error: unknown): boolean {
  const { code, details } = (error ?? {}) as { code?: unknown; details?: { remoteCode?: unknown } };
  if (typeof code !== 'string') return false;
  if (RETRIABLE.has(code)) return true;
  return code === 'EDGEPAY_ACTOR_REMOTE_ERROR' && typeof details?.remoteCode === 'string' && RETRIABLE.has(details.remoteCode);
}

export async function retryWhileRestarting<T>(attempt: (remainingMs: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + options.deadlineMs;
  let delayMs = options.initialDelayMs ?? 2;
  for (;;) {
    const remainingMs = Math.max(1, deadline - now());
    try {
      return await attempt(remainingMs);
    } catch (error) {
      if (!isRetriable(error) || now() + delayMs >= deadline) throw error;
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, options.maxDelayMs ?? 100);
    }
  }
}
