/** Packed BCD as EMV uses it: two decimal digits per byte, `F` nibbles as padding where a format allows it. */

/** The nibbles of bytes as lowercase hex characters, e.g. 0x47 0x6f -> "476f". */
export function nibbles(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Decimal digits of an `n` field (no padding allowed), or undefined if any nibble is not 0-9. */
export function bcdDigits(bytes: Uint8Array): string | undefined {
  const text = nibbles(bytes);
  return /^[0-9]*$/.test(text) ? text : undefined;
}

/**
 * Digits of a `cn` field: left-justified digits, then one F when their count is odd, to fill the
 * last byte (EMV Book 3, 4.3); undefined for anything else, whole bytes of F padding included.
 */
export function bcdDigitsFPadded(bytes: Uint8Array): string | undefined {
  const match = /^([0-9]*)f?$/.exec(nibbles(bytes));
  return match?.[1];
}

/**
 * Packs nibble characters (0-9, d as a separator) into bytes. With sizeBytes it is an `n` field,
 * right-aligned with leading zeros; without, a `cn` field, F-padded on the right to a whole byte.
 */
export function packNibbles(text: string, sizeBytes?: number): Uint8Array {
  const target = sizeBytes !== undefined ? text.padStart(sizeBytes * 2, '0') : text.length % 2 === 0 ? text : `${text}f`;
  return Uint8Array.from(Buffer.from(target, 'hex'));
}

export function isValidYymm(yymm: string): boolean {
  if (!/^[0-9]{4}$/.test(yymm)) return false;
  const month = Number(yymm.slice(2, 4));
  return month >= 1 && month <= 12;
}
