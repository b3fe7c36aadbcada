import { EdgepayError } from '../errors.js';

/** A whole-number option within [min, max], or EDGEPAY_BAD_INPUT naming the option, the value and what is allowed. */
export function parseWholeOption(option: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `${option}: ${JSON.stringify(value)} is not allowed; use a whole number from ${min} to ${max}`, { option, value });
  }
  return n;
}

/** A number of minutes (decimals allowed) within [min, max]. */
export function parseMinutesOption(option: string, value: string, min: number, max: number): number {
  const minutes = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
  if (!(minutes >= min && minutes <= max)) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `${option}: ${JSON.stringify(value)} is not allowed; use a number of minutes from ${min} to ${max}`, { option, value });
  }
  return minutes;
}

/** A positive whole number (an option's value), or EDGEPAY_BAD_INPUT. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `expected a positive integer, got ${JSON.stringify(value)}`, { value });
  }
  return n;
}
