/**
 * Big-endian field readers and writers for message payloads. The reader fails with
 * EDGEPAY_FRAME_MALFORMED (a peer sent it: NAK reason 5), the writer with EDGEPAY_MESSAGE_INVALID
 * (our own caller built it: a bug to surface, never to put on the wire).
 */
import { ProtocolError } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export interface StringRule {
  readonly maxBytes: number;
  readonly minBytes?: number;
  readonly ascii?: boolean;
}

function isAscii(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte <= 0x7f);
}

export class ByteReader {
  private offset = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly messageName: string,
  ) {}

  private fail(field: string, problem: string): never {
    throw new ProtocolError('EDGEPAY_FRAME_MALFORMED', `${this.messageName}.${field}: ${problem}`, {
      message: this.messageName,
      field,
      problem,
      offset: this.offset,
      sizeBytes: this.bytes.length,
    });
  }

  private take(field: string, count: number): Uint8Array {
    if (this.offset + count > this.bytes.length) this.fail(field, `payload ends before its ${count} byte(s)`);
    const out = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }

  u8(field: string): number {
    return this.take(field, 1)[0] as number;
  }

  u16(field: string): number {
    const b = this.take(field, 2);
    return ((b[0] as number) << 8) | (b[1] as number);
  }

  u32(field: string): number {
    const b = this.take(field, 4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }

  u64(field: string): bigint {
    const b = this.take(field, 8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
  }

  str(field: string, rule: StringRule): string {
    const length = this.u8(field);
    if (length > rule.maxBytes) this.fail(field, `string of ${length} bytes exceeds ${rule.maxBytes}`);
    if (length < (rule.minBytes ?? 0)) this.fail(field, `string of ${length} bytes is shorter than ${rule.minBytes ?? 0}`);
    const raw = this.take(field, length);
    if (rule.ascii && !isAscii(raw)) this.fail(field, 'string is not ASCII');
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail(field, 'string is not valid UTF-8');
    }
  }

  /** A field of a fixed size (a nonce, a key, a signature). */
  fixed(field: string, count: number): Uint8Array {
    return this.take(field, count).slice();
  }

  /** A u16 length, then that many bytes, within [minBytes, maxBytes]. */
  blob16(field: string, minBytes: number, maxBytes: number): Uint8Array {
    const length = this.u16(field);
    if (length < minBytes || length > maxBytes) this.fail(field, `length ${length} is outside ${minBytes}..${maxBytes}`);
    return this.take(field, length).slice();
  }

  /** Where the next field starts: what a signature over the payload so far covers. */
  get position(): number {
    return this.offset;
  }

  rest(): Uint8Array {
    return this.take('rest', this.bytes.length - this.offset).slice();
  }

  /** Strict layouts: bytes left over are as wrong as bytes missing. */
  end(): void {
    if (this.offset !== this.bytes.length) this.fail('end', `${this.bytes.length - this.offset} byte(s) after the last field`);
  }
}

export class ByteWriter {
  private readonly parts: number[] = [];

  constructor(private readonly messageName: string) {}

  private fail(field: string, problem: string, value: unknown): never {
    throw new ProtocolError('EDGEPAY_MESSAGE_INVALID', `${this.messageName}.${field}: ${problem}`, {
      message: this.messageName,
      field,
      problem,
      value,
    });
  }

  private uint(field: string, value: number, bytes: number): this {
    const max = 2 ** (8 * bytes) - 1;
    if (!Number.isInteger(value) || value < 0 || value > max) this.fail(field, `not an integer 0..${max}`, value);
    for (let i = bytes - 1; i >= 0; i--) this.parts.push(Math.floor(value / 2 ** (8 * i)) & 0xff);
    return this;
  }

  u8(field: string, value: number): this {
    return this.uint(field, value, 1);
  }

  u16(field: string, value: number): this {
    return this.uint(field, value, 2);
  }

  u32(field: string, value: number): this {
    return this.uint(field, value, 4);
  }

  u64(field: string, value: bigint): this {
    if (typeof value !== 'bigint' || value < 0n || value > 0xffff_ffff_ffff_ffffn) this.fail(field, 'not a u64 bigint', String(value));
    for (let i = 7; i >= 0; i--) this.parts.push(Number((value >> BigInt(8 * i)) & 0xffn));
    return this;
  }

  str(field: string, text: string, rule: StringRule): this {
    if (typeof text !== 'string') this.fail(field, 'not a string', text);
    const raw = utf8Encoder.encode(text);
    // Lone surrogates encode as U+FFFD, which would change the text on the way through.
    if (utf8.decode(raw) !== text) this.fail(field, 'not representable as UTF-8', text);
    if (rule.ascii && !isAscii(raw)) this.fail(field, 'not ASCII', text);
    if (raw.length > rule.maxBytes || raw.length < (rule.minBytes ?? 0)) {
      this.fail(field, `must be ${rule.minBytes ?? 0}..${rule.maxBytes} bytes, is ${raw.length}`, text);
    }
    this.parts.push(raw.length, ...raw);
    return this;
  }

  bytes(field: string, value: Uint8Array): this {
    if (!(value instanceof Uint8Array)) this.fail(field, 'not a Uint8Array', typeof value);
    for (const byte of value) this.parts.push(byte);
    return this;
  }

  fixed(field: string, value: Uint8Array, count: number): this {
    if (!(value instanceof Uint8Array) || value.length !== count) this.fail(field, `must be ${count} bytes`, value instanceof Uint8Array ? value.length : typeof value);
    return this.bytes(field, value);
  }

  blob16(field: string, value: Uint8Array, minBytes: number, maxBytes: number): this {
    if (!(value instanceof Uint8Array) || value.length < minBytes || value.length > maxBytes) {
      this.fail(field, `must be ${minBytes}..${maxBytes} bytes`, value instanceof Uint8Array ? value.length : typeof value);
    }
    return this.u16(field, value.length).bytes(field, value);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}
