/**
 * Timers are injected where the code waits, like the clock: the node runs on the machine's, a
 * deterministic simulation on its scheduler's. Handles are opaque to the caller.
 */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(timer: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};
