import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, isProtocolError, MAX_PAYLOAD, MessageType, type Message } from '../src/reader/protocol/index.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const asciiText = (maxLength: number, minLength = 0) => fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), minLength, maxLength });
/** Unicode text whose UTF-8 form fits the byte limit. */
const utf8Text = (maxBytes: number) => fc.string({ unit: 'grapheme', maxLength: maxBytes }).filter((s) => Buffer.byteLength(s, 'utf8') <= maxBytes);

const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ kind: fc.constant('HELLO' as const), protocolVersion: u8, capabilities: u8, maxPayload: u16, model: asciiText(32), firmwareVersion: asciiText(32) }),
  fc.constant({ kind: 'ACK' as const }),
  fc.record({ kind: fc.constant('NAK' as const), reason: fc.constantFrom(1, 2, 3, 4, 5) as fc.Arbitrary<1 | 2 | 3 | 4 | 5> }),
  fc.record({ kind: fc.constant('START_TXN' as const), txnId: u32, amountMinor: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), currencyNumeric: u16, timeoutS: u16 }),
  fc.record({ kind: fc.constant('CARD_DATA' as const), txnId: u32, tlv: fc.uint8Array({ maxLength: MAX_PAYLOAD - 4 }) }),
  fc.record({ kind: fc.constant('SHOW_RESULT' as const), txnId: u32, approved: fc.boolean(), code: asciiText(4, 1), text: utf8Text(64) }),
  fc.record({ kind: fc.constant('CANCEL' as const), txnId: u32 }),
  fc.record({ kind: fc.constant('TXN_ENDED' as const), txnId: u32, reason: fc.constantFrom(1, 2, 3, 4, 5) as fc.Arbitrary<1 | 2 | 3 | 4 | 5> }),
  fc.constant({ kind: 'STATUS_REQUEST' as const }),
  fc.record({ kind: fc.constant('STATUS' as const), state: fc.constantFrom(0, 1, 2, 3, 4) as fc.Arbitrary<0 | 1 | 2 | 3 | 4>, flags: u8 }),
  fc.record({ kind: fc.constant('ERROR' as const), code: u8, text: utf8Text(128) }),
);

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (isProtocolError(error)) return error.code;
    throw error;
  }
  return undefined;
}

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));

describe('message codec properties', () => {
  it('encode then decode gives the message back', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        const { type, payload } = encodeMessage(msg);
        expect(decodeMessage(type, payload)).toEqual(msg);
      }),
      { numRuns: 500 },
    );
  });

  it('any payload either decodes to a message that re-encodes to exactly it, or is MALFORMED', () => {
    const types = Object.values(MessageType);
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.uint8Array({ maxLength: 80 }), (type, payload) => {
        let msg: Message;
        try {
          msg = decodeMessage(type, payload);
        } catch (error) {
          expect(isProtocolError(error, 'EDGEPAY_FRAME_MALFORMED')).toBe(true);
          return;
        }
        expect(Buffer.from(encodeMessage(msg).payload).equals(Buffer.from(payload))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('every type outside section 3 is UNKNOWN_TYPE', () => {
    const known = new Set<number>(Object.values(MessageType));
    for (let type = 0; type < 256; type++) {
      if (!known.has(type)) expect(codeOf(() => decodeMessage(type, new Uint8Array(0)))).toBe('EDGEPAY_FRAME_UNKNOWN_TYPE');
    }
  });
});

describe('strict layouts (NAK 5)', () => {
  it.each([
    ['ACK with a byte', MessageType.ACK, '00'],
    ['STATUS_REQUEST with a byte', MessageType.STATUS_REQUEST, '00'],
    ['NAK empty', MessageType.NAK, ''],
    ['NAK reason 0', MessageType.NAK, '00'],
    ['NAK reason 6', MessageType.NAK, '06'],
    ['START_TXN one byte short', MessageType.START_TXN, '00000007000000000000047203d2003c'.slice(0, -2)],
    ['START_TXN one byte long', MessageType.START_TXN, '00000007000000000000047203d2003c00'],
    ['CARD_DATA without a full txnId', MessageType.CARD_DATA, '000000'],
    ['CANCEL with 5 bytes', MessageType.CANCEL, '0000000700'],
    ['TXN_ENDED reason 0', MessageType.TXN_ENDED, '0000000700'],
    ['TXN_ENDED reason 6', MessageType.TXN_ENDED, '0000000706'],
    ['STATUS state 5', MessageType.STATUS, '0500'],
    ['SHOW_RESULT approved 2', MessageType.SHOW_RESULT, '00000007020159' + '00'],
    ['SHOW_RESULT empty code', MessageType.SHOW_RESULT, '000000070100' + '00'],
    ['SHOW_RESULT code of 5', MessageType.SHOW_RESULT, '0000000701054142434445' + '00'],
    ['SHOW_RESULT code not ASCII', MessageType.SHOW_RESULT, '000000070101c3' + '00'],
    ['SHOW_RESULT text of 65 bytes', MessageType.SHOW_RESULT, `0000000701015941${'41'.repeat(65)}`],
    ['SHOW_RESULT text runs past the payload', MessageType.SHOW_RESULT, '00000007010159' + '05414141'],
    ['SHOW_RESULT text not UTF-8', MessageType.SHOW_RESULT, '00000007010159' + '02c328'],
    ['HELLO model of 33', MessageType.HELLO, `0107040021${'41'.repeat(33)}00`],
    ['HELLO without firmwareVersion', MessageType.HELLO, '0107040000'],
    ['HELLO trailing byte', MessageType.HELLO, '010704000000ff'],
    ['ERROR text of 129', MessageType.ERROR, `0181${'41'.repeat(129)}`],
  ])('%s', (_name, type, payloadHex) => {
    expect(codeOf(() => decodeMessage(type, hex(payloadHex)))).toBe('EDGEPAY_FRAME_MALFORMED');
  });

  it('names the message and field in the error', () => {
    let caught: unknown;
    try {
      decodeMessage(MessageType.TXN_ENDED, hex('0000000709'));
    } catch (error) {
      caught = error;
    }
    expect(isProtocolError(caught) && caught.details).toMatchObject({ message: 'TXN_ENDED', field: 'reason', value: 9 });
  });
});

describe('encodeMessage refusals', () => {
  it.each<[string, Message]>([
    ['txnId too large', { kind: 'CANCEL', txnId: 2 ** 32 }],
    ['negative txnId', { kind: 'CANCEL', txnId: -1 }],
    ['amount over u64', { kind: 'START_TXN', txnId: 1, amountMinor: 2n ** 64n, currencyNumeric: 978, timeoutS: 60 }],
    ['negative amount', { kind: 'START_TXN', txnId: 1, amountMinor: -1n, currencyNumeric: 978, timeoutS: 60 }],
    ['empty result code', { kind: 'SHOW_RESULT', txnId: 1, approved: true, code: '', text: '' }],
    ['non-ASCII model', { kind: 'HELLO', protocolVersion: 1, capabilities: 0, maxPayload: 1024, model: 'Lesegerät', firmwareVersion: '1' }],
    ['text over 64 bytes in UTF-8', { kind: 'SHOW_RESULT', txnId: 1, approved: true, code: 'Y3', text: 'ä'.repeat(33) }],
    ['lone surrogate', { kind: 'ERROR', code: 1, text: '\ud800' }],
    ['CARD_DATA over MAX_PAYLOAD', { kind: 'CARD_DATA', txnId: 1, tlv: new Uint8Array(MAX_PAYLOAD - 3) }],
  ])('%s', (_name, msg) => {
    expect(codeOf(() => encodeMessage(msg))).toBe('EDGEPAY_MESSAGE_INVALID');
  });
});

describe('text with a byte-order mark', () => {
  it('keeps a leading U+FEFF: the bytes that arrive are the bytes that are re-encoded (as in the C codec)', () => {
    const payload = Buffer.from('00000009' + '01' + '02' + '5933' + '05' + 'efbbbf4f4b', 'hex');
    const message = decodeMessage(MessageType.SHOW_RESULT, new Uint8Array(payload));
    expect(message).toMatchObject({ kind: 'SHOW_RESULT', txnId: 9, approved: true, code: 'Y3', text: '\ufeffOK' });
    expect(Buffer.from(encodeMessage(message).payload).toString('hex')).toBe(payload.toString('hex'));
  });
});
