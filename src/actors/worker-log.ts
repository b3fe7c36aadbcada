import { type ForwardedLog, LOG_LEVELS, type LogLevelName } from './log-record.js';

type LogFn = (fieldsOrMsg: Record<string, unknown> | Error | string, msg?: string) => void;

/** The pino calling convention (`log.info({ card }, 'declined')`), forwarded to the parent's logger. */
export type ActorLog = { readonly [L in LogLevelName]: LogFn } & {
  child(bindings: Record<string, unknown>): ActorLog;
};

/**
 * Not pino itself: loading pino costs every worker several milliseconds at start, and restart
 * latency is a budget. Records go to the parent, which owns the destination and the level.
 */
export function forwardingLog(send: (record: ForwardedLog) => void, minimumLevel: number, bindings: Record<string, unknown>): ActorLog {
  const make = (level: LogLevelName): LogFn => {
    if (LOG_LEVELS[level] < minimumLevel) return () => undefined;
    return (fieldsOrMsg, msg) => {
      const fields = typeof fieldsOrMsg === 'string' ? { ...bindings } : fieldsOrMsg instanceof Error ? { ...bindings, err: fieldsOrMsg } : { ...bindings, ...fieldsOrMsg };
      const text = typeof fieldsOrMsg === 'string' ? fieldsOrMsg : msg;
      send(text === undefined ? { level, fields } : { level, fields, msg: text });
    };
  };
  return {
    trace: make('trace'),
    debug: make('debug'),
    info: make('info'),
    warn: make('warn'),
    error: make('error'),
    fatal: make('fatal'),
    child: (more) => forwardingLog(send, minimumLevel, { ...bindings, ...more }),
  };
}
