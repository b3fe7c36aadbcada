import { randomBytes } from 'node:crypto';
import type { CardFacts } from '../../src/card/index.js';
import { tokenizePan, withLuhnDigit } from '../../src/card/index.js';

export const TEST_TOKEN_KEY = Buffer.alloc(32, 7);

/**
 * Card facts as capture would produce them, without the sealing cost: tests of decisions and the
 * journal need a sealed blob of realistic size, not one the centre can open. Tests of capture use
 * the real sealing.
 */
export function cardFacts(n: number, overrides: Partial<CardFacts> = {}): CardFacts {
  const pan = withLuhnDigit(`4000${String(n).padStart(11, '0')}`);
  return {
    token: tokenizePan(pan, TEST_TOKEN_KEY),
    last4: pan.slice(-4),
    expiryYear: 2030,
    expiryMonth: 12,
    checkDigitValid: true,
    sealed: new Uint8Array(randomBytes(80)),
    ...overrides,
  };
}
