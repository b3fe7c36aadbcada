import { EdgepayError } from '../errors.js';

export const PAYMENTS_RANGE = { min: 1, max: 100_000 } as const;
export const WARMUP_RANGE = { min: 0, max: 10_000 } as const;
export const DEFAULT_PAYMENTS = 200;
export const DEFAULT_WARMUP = 10;

/* Named after the option, with the value and what is allowed, as the other bench options are. */

export function parsePaymentsOption(value: string): number {
  return checkPayments(/^\d+$/.test(value) ? Number(value) : Number.NaN, value);
}

export function checkPayments(payments: number, raw: unknown = payments): number {
  return checkWhole('--payments', payments, raw, PAYMENTS_RANGE, 'measured payments per mode');
}

export function checkWarmup(warmup: number, raw: unknown = warmup): number {
  return checkWhole('warmup', warmup, raw, WARMUP_RANGE, 'payments run before measuring');
}

function checkWhole(option: string, value: number, raw: unknown, range: { readonly min: number; readonly max: number }, what: string): number {
  const allowed = `a whole number of ${what} from ${range.min} to ${range.max}`;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `${option}: ${JSON.stringify(raw)} is not allowed; use ${allowed}`, { option, value: raw, allowed });
  }
  return value;
}
