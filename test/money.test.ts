import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { currencyFromNumeric, displayAmount, formatMinor, isAmountMinor, knownCurrencies, numericCode, parseCurrency } from '../src/money/index.js';

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
    expect(() => parseCurrency('EURO', 'request.currency')).toThrow(expect.objectContaining({ code: 'EDGEPAY_CURRENCY_UNKNOWN', message: expect.stringMatching(/request\.currency.*"EURO".*EUR/) }));
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

  it("displays an amount for people with its currency's ISO 4217 exponent and grouped thousands", () => {
    expect(displayAmount(1_500, 'JPY')).toBe('JPY 1,500');
    expect(displayAmount(1_500, 'EUR')).toBe('EUR 15.00');
    expect(displayAmount(1_500, 'BHD')).toBe('BHD 1.500');
    expect(displayAmount(1_234_567_890, 'KWD')).toBe('KWD 1,234,567.890');
    expect(displayAmount(5, 'EUR')).toBe('EUR 0.05');
    expect(displayAmount(-120_000, 'USD')).toBe('USD -1,200.00');
    // A code outside the table is shown in minor units, never guessed.
    expect(displayAmount(700, 'XAU')).toBe('XAU 700 (minor units)');
    fc.assert(
      fc.property(fc.constantFrom(...knownCurrencies()), fc.integer({ min: 0, max: 999_999_999_999 }), (currency, amountMinor) => {
        const shown = displayAmount(amountMinor, currency);
        const digits = shown.slice(currency.length + 1).replace(/[,.]/g, '');
        expect(BigInt(digits)).toBe(BigInt(amountMinor));
      }),
    );
  });
});
