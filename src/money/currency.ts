import { EdgepayError } from '../errors.js';

/**
 * ISO 4217 alphabetic codes with their number of minor units. Amounts are always integers in minor
 * units of one of these; the exponent is kept for display and for validating configured limits.
 * The table holds the currencies a European/North-American store fleet meets; adding one is a
 * one-line change, and an unknown code is an error rather than a guess.
 */
const MINOR_UNITS: Readonly<Record<string, number>> = {
  AUD: 2, BGN: 2, BHD: 3, BRL: 2, CAD: 2, CHF: 2, CLP: 0, CNY: 2, CZK: 2, DKK: 2, EUR: 2, GBP: 2,
  HKD: 2, HUF: 2, ISK: 0, JOD: 3, JPY: 0, KRW: 0, KWD: 3, MXN: 2, NOK: 2, NZD: 2, OMR: 3, PLN: 2,
  RON: 2, SEK: 2, SGD: 2, TND: 3, TRY: 2, USD: 2, ZAR: 2,
};

export type CurrencyCode = string & { readonly __brand: 'CurrencyCode' };

export function isCurrencyCode(value: unknown): value is CurrencyCode {
  return typeof value === 'string' && Object.hasOwn(MINOR_UNITS, value);
}

export function knownCurrencies(): readonly string[] {
  return Object.keys(MINOR_UNITS);
}

export function parseCurrency(value: unknown, field = 'currency'): CurrencyCode {
  if (isCurrencyCode(value)) return value;
  throw new EdgepayError(
    'EDGEPAY_CURRENCY_UNKNOWN',
    `${field}: ${JSON.stringify(value)} is not a supported ISO 4217 code (use one of ${knownCurrencies().join(', ')})`,
    { field, value },
  );
}

export function minorUnits(currency: CurrencyCode): number {
  return MINOR_UNITS[currency] as number;
}

/** Formats 12345 EUR as "123.45 EUR" without ever going through a float. */
export function formatMinor(amountMinor: number, currency: CurrencyCode): string {
  const exponent = minorUnits(currency);
  const sign = amountMinor < 0 ? '-' : '';
  const digits = Math.abs(amountMinor).toString().padStart(exponent + 1, '0');
  if (exponent === 0) return `${sign}${digits} ${currency}`;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)} ${currency}`;
}

/** A positive amount in minor units that stays exact in a JavaScript number and in SQLite. */
export function isAmountMinor(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
