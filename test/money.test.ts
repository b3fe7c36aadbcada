import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { currencyFromNumeric, formatMinor, isAmountMinor, knownCurrencies, numericCode, parseCurrency } from '../src/money/index.js';

describe('money', () => {
  it('formats minor units by the currency exponent without floats', () => {
    expect(formatMinor(12345, parseCurrency('EUR'))).toBe('123.45 EUR');
    expect(formatMinor(5, parseCurrency('EUR'))).toBe('0.05 EUR');
    expect(formatMinor(500, parseCurrency('JPY'))).toBe('500 JPY');
    expect(formatMinor(1234, parseCurrency('KWD'))).toBe('1.234 KWD');
    expect(formatMinor(-250, parseCurrency('USD'))).toBe('-2.50 USD');
    expect(formatMinor(Number.MAX_SAFE_INTEGER, parseCurrency('EUR'))).toBe('90071992547409.91 EUR');
  });

  it('round-trips every safe amount through its text exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (minor) => {
        const text = formatMinor(minor, parseCurrency('EUR')).split(' ')[0]!;
        expect(BigInt(text.replace('.', ''))).toBe(BigInt(minor));
      }),
    );
  });

  it('refuses unknown currency codes, naming the field and what is allowed', () => {
    expect(() => parseCurrency('EURO', 'request.currency')).toThrow(
      expect.objectContaining({ code: 'EDGEPAY_CURRENCY_UNKNOWN', message: expect.stringMatching(/request\.currency.*"EURO".*EUR/) }),
    );
    expect(() => parseCurrency('eur')).toThrow();
  });

  it('maps every alphabetic code to its ISO 4217 numeric code and back', () => {
    expect(numericCode(parseCurrency('EUR'))).toBe(978);
    expect(numericCode(parseCurrency('USD'))).toBe(840);
    expect(numericCode(parseCurrency('JPY'))).toBe(392);
    for (const code of knownCurrencies()) expect(currencyFromNumeric(numericCode(parseCurrency(code)))).toBe(code);
    expect(currencyFromNumeric(999)).toBeUndefined();
  });

  it('accepts only positive safe integers as amounts', () => {
    expect(isAmountMinor(1)).toBe(true);
    for (const bad of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, '100']) expect(isAmountMinor(bad)).toBe(false);
  });
});
