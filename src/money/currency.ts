import { EdgepayError } from '../errors.js';

/**
 * ISO 4217 alphabetic codes with their number of minor units. Amounts are always integers in minor
 * units of one of these; the exponent is kept for display and for validating configured limits.
 * The table holds the currencies a European/North-American store fleet meets; adding one is a
 * one-line change, and an unknown code is an error rather than a guess.
 */
const MINOR_UNITS: Readonly<Record<string, number>> = {
  AUD: 2,
  BGN: 2,
  BHD: 3,
  BRL: 2,
  CAD: 2,
  CHF: 2,
  CLP: 0,
  CNY: 2,
  CZK: 2,
  DKK: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  HUF: 2,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  MXN: 2,
  NOK: 2,
  NZD: 2,
  OMR: 3,
  PLN: 2,
  RON: 2,
  SEK: 2,
  SGD: 2,
  TND: 3,
  TRY: 2,
  USD: 2,
  ZAR: 2,
};

/** ISO 4217 numeric codes: what card readers and EMV tag 5F2A carry. */
const NUMERIC: Readonly<Record<string, number>> = {
  AUD: 36,
  BGN: 975,
  BHD: 48,
  BRL: 986,
  CAD: 124,
  CHF: 756,
  CLP: 152,
  CNY: 156,
  CZK: 203,
  DKK: 208,
  EUR: 978,
  GBP: 826,
  HKD: 344,
  HUF: 348,
  ISK: 352,
  JOD: 400,
  JPY: 392,
  KRW: 410,
  KWD: 414,
  MXN: 484,
  NOK: 578,
  NZD: 554,
  OMR: 512,
  PLN: 985,
  RON: 946,
  SEK: 752,
  SGD: 702,
  TND: 788,
  TRY: 949,
  USD: 840,
  ZAR: 710,
};

export type CurrencyCode = string & { readonly __brand: 'CurrencyCode' };

export function numericCode(currency: CurrencyCode): number {
  return NUMERIC[currency] as number;
}

export function currencyFromNumeric(numeric: number): CurrencyCode | undefined {
  const found = Object.keys(NUMERIC).find((code) => NUMERIC[code] === numeric);
  return found as CurrencyCode | undefined;
}

export function isCurrencyCode(value: unknown): value is CurrencyCode {
  return typeof value === 'string' && Object.hasOwn(MINOR_UNITS, value);
}

export function knownCurrencies(): readonly string[] {
  return Object.keys(MINOR_UNITS);
}

export function parseCurrency(value: unknown, field = 'currency'): CurrencyCode {
  if (isCurrencyCode(value)) return value;
  throw new EdgepayError('EDGEPAY_CURRENCY_UNKNOWN', `${field}: ${JSON.stringify(value)} is not a supported ISO 4217 code (use one of ${knownCurrencies().join(', ')})`, { field, value });
}

export function minorUnits(currency: CurrencyCode): number {
  return MINOR_UNITS[currency] as number;
}

/** Formats 12345 EUR as "123.45 EUR" without ever going through a float. */
export function formatMinor(amountMinor: number, currency: CurrencyCode): string {
  const exponent = minorUnits(currency);
  const sign = amountMinor < 0 ? '-' : '';
  const digits = Math.abs(amountMinor)
    .toString()
    .padStart(exponent + 1, '0');
  if (exponent === 0) return `${sign}${digits} ${currency}`;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)} ${currency}`;
}

/**
 * Formats an amount for people, as "JPY 1,500", "EUR 1,234.50" or "KWD 1.500": the currency's own
 * ISO 4217 exponent from the table above (the one amounts are validated against, so display and
 * validation cannot disagree) and thousands grouped, without going through a float. A code outside
 * the table (an entry from a newer peer) is shown in minor units, never guessed.
 */
export function displayAmount(amountMinor: number, currency: string): string {
  if (!isCurrencyCode(currency) || !Number.isSafeInteger(amountMinor)) return `${currency} ${amountMinor} (minor units)`;
  const exponent = minorUnits(currency);
  const sign = amountMinor < 0 ? '-' : '';
  const digits = Math.abs(amountMinor)
    .toString()
    .padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent).replace(/\B(?=(\d{3})+$)/g, ',');
  return `${currency} ${sign}${whole}${exponent === 0 ? '' : `.${digits.slice(-exponent)}`}`;
}

/** A positive amount in minor units that stays exact in a JavaScript number and in SQLite. */
export function isAmountMinor(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
