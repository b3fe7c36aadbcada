import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult } from './store-checks.js';

/**
 * P7 from the bytes at rest: no file the store wrote holds a card number read at its lanes, as
 * ASCII digits (how JSON, SQLite text and logs would carry it) or packed BCD (how EMV carries it,
 * an odd count padded with F).
 * Sealed blobs hold it encrypted, which is the point.
 */
export function checkNoCardNumbersAtRest(roots: readonly string[], pans: ReadonlySet<string>): CheckResult {
  const search = findCardNumbers(roots, pans);
  return {
    check: 'no card number in clear at rest (P7)',
    ok: search.found.length === 0,
    detail:
      search.found.length === 0
        ? `${pans.size} card numbers read at the lanes, none in ${search.files} files (${search.bytes} bytes)`
        : search.found
            .slice(0, 5)
            .map((f) => `${f.file}: a card number ending ${f.pan.slice(-4)}`)
            .join('; '),
  };
}

export interface CardNumberSearch {
  readonly files: number;
  readonly bytes: number;
  /** Each card number found in each file, once. */
  readonly found: readonly { readonly file: string; readonly pan: string }[];
}

/** Every file under the roots, searched for the card numbers as ASCII digits and as packed BCD. */
export function findCardNumbers(roots: readonly string[], pans: ReadonlySet<string>): CardNumberSearch {
  const files = roots.flatMap((root) => filesUnder(root));
  const found: { file: string; pan: string }[] = [];
  let bytes = 0;
  for (const file of files) {
    const content = readFileSync(file);
    bytes += content.byteLength;
    for (const pan of new Set([...asciiDigitRuns(content, pans), ...packedBcdRuns(content, pans)])) found.push({ file, pan });
  }
  return { files: files.length, bytes, found };
}

const MIN_PAN_DIGITS = 12;
const MAX_PAN_DIGITS = 19;
const ZERO = 0x30;
const NINE = 0x39;

/** The card numbers inside runs of ASCII digits. */
function asciiDigitRuns(bytes: Buffer, pans: ReadonlySet<string>): string[] {
  const hits: string[] = [];
  let start = -1;
  for (let i = 0; i <= bytes.byteLength; i++) {
    const digit = i < bytes.byteLength && bytes[i]! >= ZERO && bytes[i]! <= NINE;
    if (digit && start < 0) start = i;
    if (!digit && start >= 0) {
      if (i - start >= MIN_PAN_DIGITS) hits.push(...windowsIn(bytes.toString('latin1', start, i), pans, 1));
      start = -1;
    }
  }
  return hits;
}

/** The card numbers inside runs of packed BCD bytes (two decimal nibbles each), a last half byte padded with F. */
function packedBcdRuns(bytes: Buffer, pans: ReadonlySet<string>): string[] {
  const hits: string[] = [];
  let start = -1;
  for (let i = 0; i <= bytes.byteLength; i++) {
    const byte = i < bytes.byteLength ? bytes[i]! : 0xff;
    const bcd = byte >> 4 <= 9 && (byte & 0x0f) <= 9;
    if (bcd && start < 0) start = i;
    if (!bcd && start >= 0) {
      let digits = bytes.toString('hex', start, i);
      if (byte >> 4 <= 9 && (byte & 0x0f) === 0x0f) digits += (byte >> 4).toString();
      if (digits.length >= MIN_PAN_DIGITS) hits.push(...windowsIn(digits, pans, 2));
      start = -1;
    }
  }
  return hits;
}

/** Every card number of the set found in a run of digits, starting at a multiple of `align`. */
function windowsIn(digits: string, pans: ReadonlySet<string>, align: number): string[] {
  const hits: string[] = [];
  for (let length = MIN_PAN_DIGITS; length <= Math.min(MAX_PAN_DIGITS, digits.length); length++) {
    for (let at = 0; at + length <= digits.length; at += align) {
      const candidate = digits.slice(at, at + length);
      if (pans.has(candidate)) hits.push(candidate);
    }
  }
  return hits;
}

function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}
