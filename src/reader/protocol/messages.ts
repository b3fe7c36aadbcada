/**
 * Payload layouts of PROTOCOL.md 3. Decoding is strict: every byte must belong to a field, enum
 * fields must hold a defined value, strings must respect their limits. Anything else is
 * EDGEPAY_FRAME_MALFORMED (NAK 5); an unknown TYPE is EDGEPAY_FRAME_UNKNOWN_TYPE (NAK 4).
 */
import { ByteReader, ByteWriter } from './bytes.js';
import { ProtocolError } from './errors.js';
import { MAX_PAYLOAD } from './frame.js';
import { Limits, MessageType, NakReason, ReaderState, TxnEndReason, type Message, type MessageName, type MessageTypeCode, type NakReasonCode, type ReaderStateCode, type TxnEndReasonCode } from './message-types.js';

const NAME_BY_TYPE = new Map<number, MessageName>((Object.entries(MessageType) as [MessageName, MessageTypeCode][]).map(([name, code]) => [code, name]));

function oneOf<T extends number>(allowed: Record<string, T>, value: number): value is T {
  return (Object.values(allowed) as number[]).includes(value);
}

export function encodeMessage(msg: Message): { type: MessageTypeCode; payload: Uint8Array } {
  const w = new ByteWriter(msg.kind);
  switch (msg.kind) {
    case 'HELLO':
      w.u8('protocolVersion', msg.protocolVersion).u8('capabilities', msg.capabilities).u16('maxPayload', msg.maxPayload);
      w.str('model', msg.model, { maxBytes: Limits.MODEL, ascii: true });
      w.str('firmwareVersion', msg.firmwareVersion, { maxBytes: Limits.FIRMWARE_VERSION, ascii: true });
      break;
    case 'ACK':
    case 'STATUS_REQUEST':
      break;
    case 'NAK':
      if (!oneOf(NakReason, msg.reason)) throw invalid(msg.kind, 'reason', msg.reason);
      w.u8('reason', msg.reason);
      break;
    case 'START_TXN':
      w.u32('txnId', msg.txnId).u64('amountMinor', msg.amountMinor);
      w.u16('currencyNumeric', msg.currencyNumeric).u16('timeoutS', msg.timeoutS);
      break;
    case 'CARD_DATA':
      w.u32('txnId', msg.txnId).bytes('tlv', msg.tlv);
      break;
    case 'SHOW_RESULT':
      if (typeof msg.approved !== 'boolean') throw invalid(msg.kind, 'approved', msg.approved);
      w.u32('txnId', msg.txnId).u8('approved', msg.approved ? 1 : 0);
      w.str('code', msg.code, { minBytes: Limits.RESULT_CODE_MIN, maxBytes: Limits.RESULT_CODE, ascii: true });
      w.str('text', msg.text, { maxBytes: Limits.RESULT_TEXT });
      break;
    case 'CANCEL':
      w.u32('txnId', msg.txnId);
      break;
    case 'TXN_ENDED':
      if (!oneOf(TxnEndReason, msg.reason)) throw invalid(msg.kind, 'reason', msg.reason);
      w.u32('txnId', msg.txnId).u8('reason', msg.reason);
      break;
    case 'STATUS':
      if (!oneOf(ReaderState, msg.state)) throw invalid(msg.kind, 'state', msg.state);
      w.u8('state', msg.state).u8('flags', msg.flags);
      break;
    case 'ERROR':
      w.u8('code', msg.code).str('text', msg.text, { maxBytes: Limits.ERROR_TEXT });
      break;
    default:
      throw invalid('message', 'kind', (msg as { kind?: unknown }).kind);
  }
  const payload = w.finish();
  if (payload.length > MAX_PAYLOAD) {
    throw new ProtocolError('EDGEPAY_MESSAGE_INVALID', `${msg.kind} payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`, {
      message: msg.kind,
      sizeBytes: payload.length,
    });
  }
  return { type: MessageType[msg.kind], payload };
}

function invalid(message: string, field: string, value: unknown): ProtocolError {
  return new ProtocolError('EDGEPAY_MESSAGE_INVALID', `${message}.${field}: value not allowed`, { message, field, value });
}

export function decodeMessage(type: number, payload: Uint8Array): Message {
  const name = NAME_BY_TYPE.get(type);
  if (name === undefined) {
    throw new ProtocolError('EDGEPAY_FRAME_UNKNOWN_TYPE', `unknown message type 0x${type.toString(16).padStart(2, '0')}`, { type });
  }
  const r = new ByteReader(payload, name);
  const msg = readFields(name, r);
  r.end();
  return msg;
}

function readFields(name: MessageName, r: ByteReader): Message {
  switch (name) {
    case 'HELLO':
      return {
        kind: name,
        protocolVersion: r.u8('protocolVersion'),
        capabilities: r.u8('capabilities'),
        maxPayload: r.u16('maxPayload'),
        model: r.str('model', { maxBytes: Limits.MODEL, ascii: true }),
        firmwareVersion: r.str('firmwareVersion', { maxBytes: Limits.FIRMWARE_VERSION, ascii: true }),
      };
    case 'ACK':
    case 'STATUS_REQUEST':
      return { kind: name };
    case 'NAK':
      return { kind: name, reason: enumField(r, name, 'reason', NakReason) as NakReasonCode };
    case 'START_TXN':
      return {
        kind: name,
        txnId: r.u32('txnId'),
        amountMinor: r.u64('amountMinor'),
        currencyNumeric: r.u16('currencyNumeric'),
        timeoutS: r.u16('timeoutS'),
      };
    case 'CARD_DATA':
      return { kind: name, txnId: r.u32('txnId'), tlv: r.rest() };
    case 'SHOW_RESULT':
      return {
        kind: name,
        txnId: r.u32('txnId'),
        approved: enumField(r, name, 'approved', { NO: 0, YES: 1 }) === 1,
        code: r.str('code', { minBytes: Limits.RESULT_CODE_MIN, maxBytes: Limits.RESULT_CODE, ascii: true }),
        text: r.str('text', { maxBytes: Limits.RESULT_TEXT }),
      };
    case 'CANCEL':
      return { kind: name, txnId: r.u32('txnId') };
    case 'TXN_ENDED':
      return { kind: name, txnId: r.u32('txnId'), reason: enumField(r, name, 'reason', TxnEndReason) as TxnEndReasonCode };
    case 'STATUS':
      return { kind: name, state: enumField(r, name, 'state', ReaderState) as ReaderStateCode, flags: r.u8('flags') };
    case 'ERROR':
      return { kind: name, code: r.u8('code'), text: r.str('text', { maxBytes: Limits.ERROR_TEXT }) };
  }
}

function enumField(r: ByteReader, message: string, field: string, allowed: Record<string, number>): number {
  const value = r.u8(field);
  if (!oneOf(allowed, value)) {
    throw new ProtocolError('EDGEPAY_FRAME_MALFORMED', `${message}.${field}: ${value} is not a defined value`, { message, field, value });
  }
  return value;
}
