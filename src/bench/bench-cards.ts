import { randomBytes, randomFillSync } from 'node:crypto';
import type { CardFacts } from '../card/card-facts.js';
import { tokenizePan } from '../card/capture.js';
import { withLuhnDigit } from '../card/luhn.js';

/** Size of a real sealed blob (PAN and expiry sealed to the centre's key). */
const SEALED_BYTES = 80;

/**
 * Card facts as capture hands them to the stand-in. Capture (tokenizing, sealing) is CPU work done
 * at the reader before authorization, so it is paid here, before any timing; the blobs are random
 * bytes of a real blob's size because nobody opens them.
 */
export function makeCardPool(count: number): CardFacts[] {
  const tokenKey = randomBytes(32);
  const expiryYear = new Date().getUTCFullYear() + 4;
  const cards: CardFacts[] = [];
  for (let n = 0; n < count; n++) {
    const pan = withLuhnDigit(`4000${String(n).padStart(11, '0')}`);
    const sealed = new Uint8Array(SEALED_BYTES);
    randomFillSync(sealed);
    cards.push({
      token: tokenizePan(pan, tokenKey),
      last4: pan.slice(-4),
      expiryYear,
      expiryMonth: 12,
      checkDigitValid: true,
      sealed,
    });
  }
  return cards;
}
