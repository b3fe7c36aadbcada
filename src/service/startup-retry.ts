/**
 * A dependency a service needs before it can serve (the centre's ledger database), tried until it
 * answers. After a power cut the boxes come up in any order: a database that is not there yet is a
 * wait, not a reason to exit and be restarted by systemd in a loop. The wait doubles from
 * `initialMs` to `maxMs`, and each failure is reported once, with the wait before the next try, so
 * a long outage costs a few lines a minute, not a flood.
 */
export interface StartupRetryOptions<T> {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Whether a failure is worth another try; the others are rethrown at once (a malformed URL is not a wait). */
  readonly retriable: (error: unknown) => boolean;
  /** One call per failed try: which try it was and how long until the next. */
  readonly onFailure: (error: unknown, attempt: number, retryInMs: number) => void;
  /** Ends the wait: the pending promise rejects with the signal's reason (SIGTERM while waiting). */
  readonly signal?: AbortSignal;
  /**
   * A try that has not settled by then counts as failed (a database host that drops packets holds a
   * connect for minutes); what it brings later is handed to `discard` (closed), never used.
   */
  readonly attemptTimeoutMs?: number;
  readonly discard?: (late: T) => void;
}

/** A try that did not settle within attemptTimeoutMs. */
export class AttemptTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'AttemptTimeoutError';
  }
}

export async function retryUntilUp<T>(attempt: () => Promise<T>, options: StartupRetryOptions<T>): Promise<T> {
  let delayMs = options.initialMs;
  for (let tries = 1; ; tries++) {
    options.signal?.throwIfAborted();
    try {
      return await bounded(attempt(), options);
    } catch (error) {
      if (!(error instanceof AttemptTimeoutError) && !options.retriable(error)) throw error;
      options.onFailure(error, tries, delayMs);
    }
    await sleep(delayMs, options.signal);
    delayMs = Math.min(options.maxMs, delayMs * 2);
  }
}

function bounded<T>(pending: Promise<T>, options: StartupRetryOptions<T>): Promise<T> {
  const timeoutMs = options.attemptTimeoutMs;
  if (timeoutMs === undefined) return pending;
  const { signal } = options;
  return new Promise<T>((resolve, reject) => {
    // Given up on (timed out, or the service stopping): whatever it brings later is discarded.
    let late = false;
    const giveUp = (reason: unknown): void => {
      late = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      reject(reason);
    };
    const aborted = (): void => giveUp(signal!.reason);
    const timer = setTimeout(() => giveUp(new AttemptTimeoutError(timeoutMs)), timeoutMs);
    signal?.addEventListener('abort', aborted, { once: true });
    pending.then(
      (value) => {
        if (late) return options.discard?.(value);
        stopWatching();
        resolve(value);
      },
      (error: unknown) => {
        if (late) return;
        stopWatching();
        reject(error);
      },
    );
    function stopWatching(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
    }
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted(): void {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
