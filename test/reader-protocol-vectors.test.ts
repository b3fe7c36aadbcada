/**
 * Runs every vector of firmware-bridge/vectors.json, the file the C99 firmware is tested against
 * too: both implementations agreeing with it is what keeps them agreeing with each other.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  crc16,
  decodeFrame,
  decodeMessage,
  encodeFrame,
  encodeMessage,
  encodeTlv,
  FrameDecoder,
  isProtocolError,
  MAX_PAYLOAD,
  MessageType,
  parseTlv,
  tagHex,
  type DecoderEvent,
  type Message,
  type MessageName,
  type TlvObject,
} from '../src/reader/protocol/index.js';

interface TlvJson {
  tag: string;
  valueHex: string;
  children?: TlvJson[];
}
type ExpectJson = { frame: { seq: number; type: number; payloadHex: string } } | { error: string };
interface Vectors {
  version: number;
  maxPayload: number;
  crc16: { name: string; inputHex: string; crcHex: string }[];
  frames: { name: string; seq: number; type: number; payloadHex: string; frameHex: string }[];
  decoder: { name: string; chunksHex: string[]; expect: ExpectJson[] }[];
  tlv: ({ name: string; hex: string; ok: true; objects: TlvJson[] } | { name: string; hex: string; ok: false; error: string })[];
  messages: { name: string; type: number; payloadHex: string; fields: Record<string, unknown> }[];
}

const vectors = JSON.parse(readFileSync(new URL('../firmware-bridge/vectors.json', import.meta.url), 'utf8')) as Vectors;

const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function eventToJson(event: DecoderEvent): ExpectJson {
  return event.kind === 'frame' ? { frame: { seq: event.seq, type: event.type, payloadHex: toHex(event.payload) } } : { error: event.error };
}

function tlvToJson(object: TlvObject): TlvJson {
  const base = { tag: tagHex(object.tag), valueHex: toHex(object.value) };
  return object.children ? { ...base, children: object.children.map(tlvToJson) } : base;
}

/** Byte fields are `<name>Hex` in vectors.json, as the C tests read them; u64 amounts are decimal strings. */
function messageToFields(msg: Message): Record<string, unknown> {
  const { kind: _kind, ...rest } = msg;
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(rest)) {
    if (value instanceof Uint8Array) fields[`${name}Hex`] = toHex(value);
    else if (typeof value === 'bigint') fields[name] = value.toString();
    else fields[name] = value;
  }
  return fields;
}

function fieldsToMessage(type: number, fields: Record<string, unknown>): Message {
  const kind = (Object.keys(MessageType) as MessageName[]).find((name) => MessageType[name] === type);
  if (kind === undefined) throw new Error(`vector with unknown type ${type}`);
  const message: Record<string, unknown> = { kind };
  for (const [name, value] of Object.entries(fields)) {
    if (name.endsWith('Hex') && typeof value === 'string') message[name.slice(0, -3)] = fromHex(value);
    else if (name === 'amountMinor' && typeof value === 'string') message[name] = BigInt(value);
    else message[name] = value;
  }
  return message as unknown as Message;
}

describe('vectors.json header', () => {
  it('is version 1 with the spec MAX_PAYLOAD', () => {
    expect(vectors.version).toBe(1);
    expect(vectors.maxPayload).toBe(MAX_PAYLOAD);
    expect(vectors.decoder.length).toBeGreaterThanOrEqual(15);
    expect(vectors.tlv.length).toBeGreaterThanOrEqual(20);
  });
});

describe('crc16 vectors', () => {
  it.each(vectors.crc16)('$name', ({ inputHex, crcHex }) => {
    expect(crc16(fromHex(inputHex)).toString(16).padStart(4, '0')).toBe(crcHex);
  });
});

describe('frame vectors', () => {
  it.each(vectors.frames)('$name', ({ seq, type, payloadHex, frameHex }) => {
    expect(toHex(encodeFrame(seq, type, fromHex(payloadHex)))).toBe(frameHex);
    const decoded = decodeFrame(fromHex(frameHex));
    expect({ seq: decoded.seq, type: decoded.type, payloadHex: toHex(decoded.payload) }).toEqual({ seq, type, payloadHex });
  });
});

describe('decoder vectors', () => {
  it.each(vectors.decoder)('$name', ({ chunksHex, expect: expected }) => {
    const decoder = new FrameDecoder();
    const events = chunksHex.flatMap((hex) => decoder.push(fromHex(hex)));
    expect(events.map(eventToJson)).toEqual(expected);
  });

  it.each(vectors.decoder)('$name (byte by byte gives the same events)', ({ chunksHex, expect: expected }) => {
    const decoder = new FrameDecoder();
    const bytes = fromHex(chunksHex.join(''));
    const events = [...bytes].flatMap((byte) => decoder.push(Uint8Array.of(byte)));
    expect(events.map(eventToJson)).toEqual(expected);
  });
});

describe('TLV vectors', () => {
  it.each(vectors.tlv)('$name', (vector) => {
    const input = fromHex(vector.hex);
    if (vector.ok) {
      const objects = parseTlv(input);
      expect(objects.map(tlvToJson)).toEqual(vector.objects);
      return;
    }
    let thrown: unknown;
    try {
      parseTlv(input);
    } catch (error) {
      thrown = error;
    }
    expect(isProtocolError(thrown, 'EDGEPAY_TLV_INVALID')).toBe(true);
    expect(isProtocolError(thrown) && thrown.details.reason).toBe(vector.error);
  });

  it.each(vectors.tlv.filter((v) => v.ok && !v.name.includes('non-minimal') && !v.name.includes('padding')))('$name re-encodes to its input', (vector) => {
    expect(toHex(encodeTlv(parseTlv(fromHex(vector.hex))))).toBe(vector.hex);
  });

  it.each(vectors.tlv.filter((v) => v.ok && v.name.includes('padding')))('$name re-encodes to its input without the padding', (vector) => {
    const reencoded = encodeTlv(parseTlv(fromHex(vector.hex)));
    expect(reencoded.length).toBeLessThan(fromHex(vector.hex).length);
    // A template's value keeps its padding; its children, the tree, are the same.
    const tree = (objects: readonly TlvObject[]): unknown[] => objects.map((o) => (o.children ? { tag: o.tag, children: tree(o.children) } : { tag: o.tag, value: toHex(o.value) }));
    expect(tree(parseTlv(reencoded))).toEqual(tree(parseTlv(fromHex(vector.hex))));
  });
});

describe('message vectors', () => {
  it('covers every message type', () => {
    expect(new Set(vectors.messages.map((m) => m.type))).toEqual(new Set(Object.values(MessageType)));
  });

  it.each(vectors.messages)('$name decodes to its fields', ({ type, payloadHex, fields }) => {
    expect(messageToFields(decodeMessage(type, fromHex(payloadHex)))).toEqual(fields);
  });

  it.each(vectors.messages)('$name encodes to its payload', ({ type, payloadHex, fields }) => {
    const encoded = encodeMessage(fieldsToMessage(type, fields));
    expect(encoded.type).toBe(type);
    expect(toHex(encoded.payload)).toBe(payloadHex);
  });
});
