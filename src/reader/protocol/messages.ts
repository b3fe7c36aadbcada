/**
 * Payload layouts of PROTOCOL.md 5. Decoding is strict: every byte must belong to a field, enum
 * fields must hold a defined value, strings must respect their limits. Anything else is
 * EDGEPAY_FRAME_MALFORMED (NAK 5); an unknown TYPE is EDGEPAY_FRAME_UNKNOWN_TYPE (NAK 4).
 */
import { ByteReader, ByteWriter } from './bytes.js';
import { ProtocolError } from './errors.js';
import { MAX_PAYLOAD } from './frame.js';
import {
  Limits,
  MessageType,
  NakReason,
  ReaderState,
  SEALED_CARD_FLAG_LUHN_VALID,
  SecureSizes,
  TxnEndReason,
  type Message,
  type MessageName,
  type MessageTypeCode,
  type NakReasonCode,
  type ReaderStateCode,
  type SealedCardMessage,
  type TxnEndReasonCode,
} from './message-types.js';

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
    case 'AUTH_CHALLENGE':
      w.fixed('nodeNonce', msg.nodeNonce, SecureSizes.NONCE);
      break;
    case 'AUTH_RESPONSE':
      w.fixed('readerKey', msg.readerKey, SecureSizes.PUBLIC_KEY).fixed('readerNonce', msg.readerNonce, SecureSizes.NONCE);
      w.fixed('signature', msg.signature, SecureSizes.SIGNATURE);
      break;
    case 'SEALED_CARD':
      writeSealedCardBody(w, msg);
      w.fixed('signature', msg.signature, SecureSizes.SIGNATURE);
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

const SEALED_CARD_FLAGS = SEALED_CARD_FLAG_LUHN_VALID;

/** Every SEALED_CARD field but the signature: the bytes the reader signs (PROTOCOL.md 8.3). */
export function sealedCardSignedPart(msg: Omit<SealedCardMessage, 'kind' | 'signature'>): Uint8Array {
  const w = new ByteWriter('SEALED_CARD');
  writeSealedCardBody(w, msg);
  return w.finish();
}

function writeSealedCardBody(w: ByteWriter, msg: Omit<SealedCardMessage, 'kind' | 'signature'>): void {
  if (!/^\d{4}$/.test(msg.last4)) throw invalid('SEALED_CARD', 'last4', msg.last4);
  if (!Number.isInteger(msg.flags) || (msg.flags & ~SEALED_CARD_FLAGS) !== 0) throw invalid('SEALED_CARD', 'flags', msg.flags);
  w.u32('txnId', msg.txnId).fixed('token', msg.token, SecureSizes.TOKEN).fixed('last4', new TextEncoder().encode(msg.last4), SecureSizes.LAST4).u8('flags', msg.flags);
  w.blob16('sealed', msg.sealed, SecureSizes.SEALED_MIN, SecureSizes.SEALED_MAX).blob16('tlv', msg.tlv, 0, MAX_PAYLOAD);
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
    case 'AUTH_CHALLENGE':
      return { kind: name, nodeNonce: r.fixed('nodeNonce', SecureSizes.NONCE) };
    case 'AUTH_RESPONSE':
      return { kind: name, readerKey: r.fixed('readerKey', SecureSizes.PUBLIC_KEY), readerNonce: r.fixed('readerNonce', SecureSizes.NONCE), signature: r.fixed('signature', SecureSizes.SIGNATURE) };
    case 'SEALED_CARD':
      return readSealedCard(r);
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

function readSealedCard(r: ByteReader): SealedCardMessage {
  const txnId = r.u32('txnId');
  const token = r.fixed('token', SecureSizes.TOKEN);
  const last4Bytes = r.fixed('last4', SecureSizes.LAST4);
  const last4 = String.fromCharCode(...last4Bytes);
  if (!/^\d{4}$/.test(last4)) throw malformed('SEALED_CARD', 'last4', 'must be four ASCII digits');
  const flags = r.u8('flags');
  if ((flags & ~SEALED_CARD_FLAGS) !== 0) throw malformed('SEALED_CARD', 'flags', `bits other than bit 0 are set (${flags})`);
  const sealed = r.blob16('sealed', SecureSizes.SEALED_MIN, SecureSizes.SEALED_MAX);
  const tlv = r.blob16('tlv', 0, MAX_PAYLOAD);
  return { kind: 'SEALED_CARD', txnId, token, last4, flags, sealed, tlv, signature: r.fixed('signature', SecureSizes.SIGNATURE) };
}

function malformed(message: string, field: string, problem: string): ProtocolError {
  return new ProtocolError('EDGEPAY_FRAME_MALFORMED', `${message}.${field}: ${problem}`, { message, field, problem });
}

function enumField(r: ByteReader, message: string, field: string, allowed: Record<string, number>): number {
  const value = r.u8(field);
  if (!oneOf(allowed, value)) {
    throw new ProtocolError('EDGEPAY_FRAME_MALFORMED', `${message}.${field}: ${value} is not a defined value`, { message, field, value });
  }
  return value;
}
