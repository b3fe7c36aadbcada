/**
 * BER-TLV encoder for tests and the simulated reader. It writes minimal lengths and well-formed
 * tags but deliberately does not enforce the parser's depth/count/size limits, so tests can build
 * inputs that the parser must refuse.
 */
import { ProtocolError } from './errors.js';
import { isConstructedTag, TLV_MAX_TAG_BYTES } from './tlv.js';

/** A primitive tag takes `value`; a constructed one takes `children` (a parsed TlvObject is a TlvNode). */
export interface TlvNode {
  readonly tag: number;
  readonly value?: Uint8Array;
  readonly children?: readonly TlvNode[];
}

function refuse(problem: string, tag: number): never {
  throw new ProtocolError('EDGEPAY_MESSAGE_INVALID', `cannot encode TLV tag 0x${tag.toString(16)}: ${problem}`, { field: 'tlv', problem, tag });
}

export function tagBytes(tag: number): number[] {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffff) refuse('not a 1..3 byte tag number', tag);
  const bytes = tag > 0xffff ? [tag >>> 16, (tag >>> 8) & 0xff, tag & 0xff] : tag > 0xff ? [tag >>> 8, tag & 0xff] : [tag];
  const multi = ((bytes[0] as number) & 0x1f) === 0x1f;
  const wellFormed = multi ? bytes.length > 1 && bytes.slice(1).every((byte, i, rest) => ((byte & 0x80) !== 0) === i < rest.length - 1) : bytes.length === 1;
  if (!wellFormed || bytes.length > TLV_MAX_TAG_BYTES) refuse('tag bytes are not a complete BER tag', tag);
  return bytes;
}

export function lengthBytes(length: number): number[] {
  if (length < 0x80) return [length];
  if (length <= 0xff) return [0x81, length];
  if (length <= 0xffff) return [0x82, length >>> 8, length & 0xff];
  return [0x83, length >>> 16, (length >>> 8) & 0xff, length & 0xff];
}

function encodeNode(node: TlvNode, out: number[]): void {
  const head = tagBytes(node.tag);
  let value: Uint8Array;
  if (isConstructedTag(node.tag)) {
    if (!node.children) refuse('a constructed tag needs children', node.tag);
    value = encodeTlv(node.children);
  } else {
    if (node.children || !node.value) refuse('a primitive tag takes a value, not children', node.tag);
    value = node.value;
  }
  if (value.length > 0xffffff) refuse('value longer than a 3-byte length', node.tag);
  out.push(...head, ...lengthBytes(value.length));
  for (const byte of value) out.push(byte);
}

/** Constructed objects are encoded from their children, so a parsed tree re-encodes to its input when lengths were minimal. */
export function encodeTlv(nodes: readonly TlvNode[]): Uint8Array {
  const out: number[] = [];
  for (const node of nodes) encodeNode(node, out);
  return Uint8Array.from(out);
}
