import { type Logger, type LoggerOptions, pino } from 'pino';

/*
 * The one pino logger of a long-running process (`node run`, `centre run`): JSON lines on stdout
 * that journald keeps and a log shipper parses. Two things pino does not do by itself:
 *
 * - A key in a call's fields that a child logger's bindings (or the base) already carry is written
 *   twice in one line: pino serializes bindings once, when the child is made, and appends the
 *   call's fields after them. `JSON.parse` keeps the last copy silently, other parsers refuse the
 *   line or keep the first. Worker actors forward their records with their own bindings folded
 *   into the fields (actors/worker-log.ts), so this happens on every forwarded line with `actor`.
 *   Here a field equal to a binding is dropped; a different value is kept under `shadowed`.
 * - A stack trace on every WARN floods the journal on a flapping link: a warning is something the
 *   node handles (retries, decides offline). Stacks are kept at error and fatal (a bug, or a failure
 *   the node cannot handle) and at debug and trace (someone is looking); at info and warn an error
 *   is its type, code and message, with its cause's.
 */

const ERROR_LEVEL = 50;
const DEBUG_LEVEL = 20;
/** Causes followed for the brief form: enough to name the root, bounded against a cycle. */
const MAX_CAUSES = 4;

/** An error as a warning shows it: no stack. */
interface BriefError {
  readonly type: string;
  readonly message: string;
  readonly code?: string;
  readonly cause?: BriefError;
}

export function processLogger(level: string, base?: Record<string, unknown>): Logger {
  const options: LoggerOptions = {
    level,
    ...(base === undefined ? {} : { base }),
    serializers: {
      // A brief error (below) is written as it is; anything else error-like gets pino's full form.
      err: (value: unknown) => (isErrorLike(value) ? pino.stdSerializers.err(value as Error) : value),
    },
    hooks: {
      logMethod(args, method, levelValue) {
        const [first, ...rest] = args as unknown[];
        if (first instanceof Error) {
          const fields = tidyFields({ err: first }, {}, levelValue);
          return method.apply(this, [fields, ...(rest.length === 0 ? [first.message] : rest)] as Parameters<typeof method>);
        }
        if (typeof first === 'object' && first !== null) {
          return method.apply(this, [tidyFields(first as Record<string, unknown>, this.bindings(), levelValue), ...rest] as Parameters<typeof method>);
        }
        return method.apply(this, args);
      },
    },
  };
  return pino(options);
}

/** The fields of one call with what the line's bindings say already taken out, and errors briefed below error level. */
export function tidyFields(fields: Record<string, unknown>, bindings: Record<string, unknown>, levelValue: number): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  const shadowed: Record<string, unknown> = {};
  const brief = levelValue < ERROR_LEVEL && levelValue > DEBUG_LEVEL;
  for (const [key, value] of Object.entries(fields)) {
    const shown = brief && (key === 'err' || key === 'error') && isErrorLike(value) ? briefError(value) : value;
    if (key === 'shadowed' || !Object.hasOwn(bindings, key)) kept[key] = shown;
    else if (!sameValue(bindings[key], shown)) shadowed[key] = shown;
  }
  if (Object.keys(shadowed).length > 0) kept.shadowed = { ...(kept.shadowed as object | undefined), ...shadowed };
  return kept;
}

function isErrorLike(value: unknown): value is { message: string; stack?: string; name?: string; code?: unknown; cause?: unknown } {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as { stack?: unknown }).stack === 'string' && typeof (value as { message?: unknown }).message === 'string');
}

function briefError(error: { message: string; name?: string; code?: unknown; cause?: unknown }, depth = 0): BriefError {
  const cause = error.cause;
  return {
    type: typeof error.name === 'string' ? error.name : 'Error',
    message: error.message,
    ...(typeof error.code === 'string' ? { code: error.code } : {}),
    ...(depth < MAX_CAUSES && isErrorLike(cause) ? { cause: briefError(cause, depth + 1) } : {}),
  };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}
