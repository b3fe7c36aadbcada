import { pino, type Logger } from 'pino';
import { type ForwardedLog, LOG_LEVELS } from './log-record.js';

export type { Logger } from 'pino';

/** Tests and benches stay quiet unless they inject a logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** The level below which a worker need not even post its records; 'silent' maps to Infinity. */
export function minimumLevel(logger: Logger): number {
  return Number.isFinite(logger.levelVal) ? logger.levelVal : Number.POSITIVE_INFINITY;
}

export function emitForwarded(logger: Logger, record: ForwardedLog): void {
  if (!(record.level in LOG_LEVELS)) return;
  if (record.msg === undefined) logger[record.level](record.fields);
  else logger[record.level](record.fields, record.msg);
}
