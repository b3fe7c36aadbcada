/**
 * Strict BER-TLV parser for CARD_DATA (PROTOCOL.md 7). Card data comes from a device we do not
 * control, so every limit is explicit and every ambiguity is refused instead of guessed at.
 *
 * Decisions beyond the spec, pinned down by vectors.json:
 * - Errors are reported in parse order (depth first, left to right); only `too_long` is checked
 *   before parsing, so oversized input costs nothing.
 * - An object "starts" wherever its container (or the input) has bytes left. At that moment
 *   depth > MAX_DEPTH is `too_deep`, then the 65th start is `too_many_objects`, both before its
 *   tag is read: a bounded amount of work whatever the bytes are.
 * - A third tag byte with bit 8 set is `tag_too_long` even at the end of the input.
 * - Leftover bytes that cannot form an object, and a length running past its container, are
 *   `truncated`: with a parse that consumes to the end there is no separate "trailing bytes".
 * - A 0x00 byte where an object could start is padding and skipped, at every level (EMV Book 3
 *   annex B1; EMVCo Specification Update 69 allows it inside templates, and a reader that copies a
 *   card's records may leave it anywhere). Padding is not an object: it counts toward the input
 *   limit only, and a container holding nothing else starts no object (so no `too_deep`).
 * - Depth: 8 levels, room for the deepest standard template (the PPSE's FCI: 6F, A5, BF0C, 61,
 *   then its entries at depth 5) with three to spare.
 * - Non-minimal long-form lengths (`81 05`) are accepted, as BER allows.
 */
import { ProtocolError } from './errors.js';

export const TLV_MAX_INPUT_BYTES = 1024;
export const TLV_MAX_OBJECTS = 64;
export const TLV_MAX_DEPTH = 8;
/** The byte EMV allows before, between and after data objects, skipped as padding. */
export const TLV_PADDING_BYTE = 0x00;
export const TLV_MAX_TAG_BYTES = 3;
export const TLV_MAX_LENGTH_BYTES = 3;

export type TlvErrorReason = 'truncated' | 'indefinite_length' | 'length_too_long' | 'tag_too_long' | 'too_deep' | 'too_many_objects' | 'too_long';

export interface TlvObject {
  /** The tag bytes as one big-endian number: 0x5a, 0x9f02, 0xdf8101. */
  readonly tag: number;
  /** The value bytes; for a constructed object, the encoding of its children. */
  readonly value: Uint8Array;
  /** Present exactly when the tag is constructed (bit 6 of its first byte). */
  readonly children?: readonly TlvObject[];
}

/** Bit 6 of the first tag byte; a tag number's first byte is its most significant non-zero byte. */
export function isConstructedTag(tag: number): boolean {
  const first = tag > 0xffff ? tag >>> 16 : tag > 0xff ? tag >>> 8 : tag;
  return (first & 0x20) !== 0;
}

export function tagHex(tag: number): string {
  const hex = tag.toString(16);
  return hex.length % 2 === 0 ? hex : `0${hex}`;
}

function fail(reason: TlvErrorReason, offset: number): never {
  throw new ProtocolError('EDGEPAY_TLV_INVALID', `BER-TLV refused: ${reason} at offset ${offset}`, { reason, offset });
}

class TlvParser {
  private objects = 0;

  constructor(private readonly bytes: Uint8Array) {}

  level(start: number, end: number, depth: number): TlvObject[] {
    const out: TlvObject[] = [];
    let at = start;
    while (at < end) {
      if (this.bytes[at] === TLV_PADDING_BYTE) {
        at++;
        continue;
      }
      if (depth > TLV_MAX_DEPTH) fail('too_deep', at);
      if (++this.objects > TLV_MAX_OBJECTS) fail('too_many_objects', at);
      const [tag, first, afterTag] = this.tag(at, end);
      const [length, afterLength] = this.length(afterTag, end);
      if (length > end - afterLength) fail('truncated', afterLength);
      const valueEnd = afterLength + length;
      const value = this.bytes.slice(afterLength, valueEnd);
      out.push((first & 0x20) !== 0 ? { tag, value, children: this.level(afterLength, valueEnd, depth + 1) } : { tag, value });
      at = valueEnd;
    }
    return out;
  }

  /** Returns the tag number, its first byte and the offset after it. */
  private tag(start: number, end: number): [number, number, number] {
    const first = this.bytes[start] as number;
    let tag = first;
    let at = start + 1;
    if ((first & 0x1f) !== 0x1f) return [tag, first, at];
    for (let count = 1; ; ) {
      if (at >= end) fail('truncated', at);
      const byte = this.bytes[at++] as number;
      tag = tag * 256 + byte;
      count++;
      if ((byte & 0x80) === 0) return [tag, first, at];
      if (count === TLV_MAX_TAG_BYTES) fail('tag_too_long', at - 1);
    }
  }

  /** Returns the length and the offset after its encoding. */
  private length(start: number, end: number): [number, number] {
    if (start >= end) fail('truncated', start);
    const first = this.bytes[start] as number;
    if (first < 0x80) return [first, start + 1];
    if (first === 0x80) fail('indefinite_length', start);
    const count = first & 0x7f;
    if (count > TLV_MAX_LENGTH_BYTES) fail('length_too_long', start);
    if (start + 1 + count > end) fail('truncated', end);
    let length = 0;
    for (let i = 1; i <= count; i++) length = length * 256 + (this.bytes[start + i] as number);
    return [length, start + 1 + count];
  }
}

/** Parses a whole BER-TLV input; throws ProtocolError EDGEPAY_TLV_INVALID with details.reason and details.offset. */
export function parseTlv(bytes: Uint8Array): TlvObject[] {
  if (bytes.length > TLV_MAX_INPUT_BYTES) fail('too_long', TLV_MAX_INPUT_BYTES);
  return new TlvParser(bytes).level(0, bytes.length, 1);
}

/** Every object with this tag, anywhere in the tree, in document order. */
export function findAllTlv(objects: readonly TlvObject[], tag: number): TlvObject[] {
  const found: TlvObject[] = [];
  const walk = (list: readonly TlvObject[]): void => {
    for (const object of list) {
      if (object.tag === tag) found.push(object);
      if (object.children) walk(object.children);
    }
  };
  walk(objects);
  return found;
}
