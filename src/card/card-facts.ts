/**
 * What the node knows about a card after capture. The full PAN never gets past capture (P7): the
 * stand-in and the journal see only this. Expiry and the check-digit result are kept in memory for
 * the decision and are not written in clear; the centre gets them from the sealed blob.
 */
export interface CardFacts {
  /** Keyed HMAC-SHA256 of the PAN, base64url: matches the same card across lanes and peers. */
  readonly token: string;
  /**
   * Last four digits, for receipts. No other digit is kept beside the token: with the BIN as well,
   * anyone holding the token key could rebuild the PAN from six unknown digits (docs/security.md); the
   * centre reads BIN and brand from the sealed blob.
   */
  readonly last4: string;
  /** Expiry year, four digits (e.g. 2027). */
  readonly expiryYear: number;
  /** Expiry month, 1-12; the card is valid through the last day of this month. */
  readonly expiryMonth: number;
  /** Whether the PAN passed the Luhn (mod 10) check. */
  readonly checkDigitValid: boolean;
  /** PAN and expiry sealed to the centre's public key; the node cannot open it. */
  readonly sealed: Uint8Array;
}
