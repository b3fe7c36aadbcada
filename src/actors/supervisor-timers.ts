/**
 * Time as the supervisor sees it. Injected so tests and the fleet simulation can drive restarts,
 * backoff and shutdown timeouts deterministically instead of sleeping.
 */
export interface SupervisorTimers {
  /** Monotonic milliseconds from an arbitrary origin; restart windows and uptimes are measured with it. */
  now(): number;
  /** Schedules callback once after delayMs; the returned value is only ever passed back to clearTimeout. */
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(timer: unknown): void;
}

export const systemTimers: SupervisorTimers = {
  // performance.now() rather than Date.now(): a wall-clock jump must not empty or fill a restart window.
  now: () => performance.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  // Only values this object's setTimeout returned ever come back here.
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};
