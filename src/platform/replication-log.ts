/**
 * The pino calling convention (`log.warn({ origin }, 'rejected')`), narrowed to what replication
 * uses, so an actor's forwarding log, a pino logger or a test's recorder all fit.
 */
export type ReplicationLogFn = (fields: Record<string, unknown>, msg: string) => void;

export interface ReplicationLog {
  readonly debug: ReplicationLogFn;
  readonly info: ReplicationLogFn;
  readonly warn: ReplicationLogFn;
  readonly error: ReplicationLogFn;
}

const ignore: ReplicationLogFn = () => undefined;

export const silentLog: ReplicationLog = { debug: ignore, info: ignore, warn: ignore, error: ignore };
