import { EdgepayError } from '../errors.js';

export const SECONDS_RANGE = { min: 0.1, max: 600 } as const;
export const CARDS_RANGE = { min: 1, max: 1_000_000 } as const;
export const CONCURRENCY_RANGE = { min: 1, max: 4096 } as const;

export const DEFAULT_SECONDS = 3;
export const DEFAULT_CARDS = 50_000;
export const DEFAULT_CONCURRENCY: readonly number[] = [1, 16, 256];

/*
 * Each parser names the option, the value it got and what is allowed, so a typo on a store box is
 * fixed from the message alone. They throw EDGEPAY_BAD_INPUT, which the CLI maps to exit code 2.
 */

export function parseSecondsOption(value: string): number {
  const seconds = Number(value);
  return checkSeconds(value.trim() === '' ? Number.NaN : seconds, value);
}

export function parseCardsOption(value: string): number {
  return checkCards(/^\d+$/.test(value) ? Number(value) : Number.NaN, value);
}

export function parseConcurrencyOption(value: string): number[] {
  const levels = value.split(',').map((part) => (/^\s*\d+\s*$/.test(part) ? Number(part) : Number.NaN));
  return checkConcurrency(levels, value);
}

export function parseDirOption(value: string): string {
  if (value.trim() === '') throw badOption('--dir', value, 'is empty', 'a directory path on the filesystem to measure');
  return value;
}

export function checkSeconds(seconds: number, raw: unknown = seconds): number {
  const allowed = `a number of seconds per measured phase from ${SECONDS_RANGE.min} to ${SECONDS_RANGE.max}`;
  if (!Number.isFinite(seconds) || seconds < SECONDS_RANGE.min || seconds > SECONDS_RANGE.max) {
    throw badOption('--seconds', raw, `is not allowed; use ${allowed}`, allowed);
  }
  return seconds;
}

export function checkCards(cards: number, raw: unknown = cards): number {
  const allowed = `a whole number of distinct cards from ${CARDS_RANGE.min} to ${CARDS_RANGE.max}`;
  if (!Number.isSafeInteger(cards) || cards < CARDS_RANGE.min || cards > CARDS_RANGE.max) {
    throw badOption('--cards', raw, `is not allowed; use ${allowed}`, allowed);
  }
  return cards;
}

export function checkConcurrency(levels: readonly number[], raw: unknown = levels.join(',')): number[] {
  const allowed = `a comma-separated list of whole numbers from ${CONCURRENCY_RANGE.min} to ${CONCURRENCY_RANGE.max}, e.g. 1,16,256`;
  const badIndex = levels.findIndex((n) => !Number.isSafeInteger(n) || n < CONCURRENCY_RANGE.min || n > CONCURRENCY_RANGE.max);
  if (levels.length === 0 || badIndex >= 0) {
    const which = typeof raw === 'string' && badIndex >= 0 ? ` (item ${badIndex + 1}: ${JSON.stringify(raw.split(',')[badIndex])})` : '';
    throw badOption('--concurrency', raw, `is not allowed${which}; use ${allowed}`, allowed);
  }
  if (new Set(levels).size !== levels.length) throw badOption('--concurrency', raw, `lists a level twice; use ${allowed}, each level once`, allowed);
  return [...levels];
}

function badOption(option: string, value: unknown, problem: string, allowed: string): EdgepayError {
  return new EdgepayError('EDGEPAY_BAD_INPUT', `${option}: ${JSON.stringify(value)} ${problem}`, { option, value, allowed });
}
