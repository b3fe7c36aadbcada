/*
 * The log record a worker forwards to its parent. Kept apart from log.ts so the worker side never
 * loads pino: importing it costs each new thread milliseconds of its restart budget.
 */

/** pino's numeric levels. */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LogLevelName = keyof typeof LOG_LEVELS;

/** One log call made inside a worker, forwarded so it reaches the parent's logger and its configuration. */
export interface ForwardedLog {
  readonly level: LogLevelName;
  readonly fields: Record<string, unknown>;
  readonly msg?: string;
}
