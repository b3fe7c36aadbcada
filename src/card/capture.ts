import { createHmac } from 'node:crypto';
import { EdgepayError } from '../errors.js';
import type { CardFacts } from './card-facts.js';
import type { CardKeys } from './keys.js';
import { luhnValid } from './luhn.js';
import { sealTo, sodiumReady } from './seal.js';

/** What a reader delivers: the PAN and expiry (YYMM, as in EMV tag 5F24's first four digits). */
export interface RawCard {
  readonly pan: string;
  readonly expiryYymm: string;
}

export function tokenizePan(pan: string, tokenKey: Buffer): string {
  return createHmac('sha256', tokenKey).update(pan, 'ascii').digest('base64url');
}

/**
 * Turns raw card data into CardFacts at once, so nothing downstream ever holds the PAN (P7). The
 * sealed blob carries PAN and expiry for settlement; track data, CVV and PIN never enter here.
 */
export async function captureCard(raw: RawCard, keys: CardKeys): Promise<CardFacts> {
  if (!/^\d{12,19}$/.test(raw.pan)) {
    throw new EdgepayError('EDGEPAY_CARD_INVALID', `card.pan: must be 12 to 19 decimal digits, got ${raw.pan.length} characters`, {
      field: 'card.pan',
    });
  }
  const expiry = /^(\d{2})(\d{2})$/.exec(raw.expiryYymm);
  const month = expiry ? Number(expiry[2]) : 0;
  if (!expiry || month < 1 || month > 12) {
    throw new EdgepayError('EDGEPAY_CARD_INVALID', `card.expiryYymm: must be YYMM with month 01-12, got ${JSON.stringify(raw.expiryYymm)}`, {
      field: 'card.expiryYymm',
      value: raw.expiryYymm,
    });
  }
  await sodiumReady();
  const sealedPayload = Buffer.from(JSON.stringify({ pan: raw.pan, expiry: raw.expiryYymm }), 'utf8');
  return {
    token: tokenizePan(raw.pan, keys.tokenKey),
    last4: raw.pan.slice(-4),
    expiryYear: 2000 + Number(expiry[1]),
    expiryMonth: month,
    checkDigitValid: luhnValid(raw.pan),
    sealed: sealTo(keys.centrePublicKey, sealedPayload),
  };
}
