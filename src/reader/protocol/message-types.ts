/**
 * The messages of PROTOCOL.md 5 as a discriminated union. Field names match the `fields` of
 * vectors.json so the C and TypeScript tests read the same words.
 */

export const MessageType = {
  HELLO: 0x01,
  AUTH_CHALLENGE: 0x02,
  AUTH_RESPONSE: 0x03,
  ACK: 0x06,
  NAK: 0x15,
  START_TXN: 0x10,
  CARD_DATA: 0x11,
  SHOW_RESULT: 0x12,
  CANCEL: 0x13,
  TXN_ENDED: 0x14,
  SEALED_CARD: 0x16,
  STATUS_REQUEST: 0x20,
  STATUS: 0x21,
  ERROR: 0x7f,
} as const;

export type MessageName = keyof typeof MessageType;
export type MessageTypeCode = (typeof MessageType)[MessageName];

/** The major version in HELLO; 1.1 adds messages within it (PROTOCOL.md 11). */
export const PROTOCOL_VERSION = 1;
/** The revision this code implements, as the node names itself in its HELLO. */
export const PROTOCOL_REVISION = '1.1';

/** NAK reasons (PROTOCOL.md 3.2). */
export const NakReason = { BAD_CRC: 1, BAD_END: 2, BAD_LENGTH: 3, UNKNOWN_TYPE: 4, MALFORMED: 5 } as const;
export type NakReasonCode = (typeof NakReason)[keyof typeof NakReason];

/** TXN_ENDED reasons. */
export const TxnEndReason = { CANCELLED_BY_NODE: 1, NO_CARD: 2, CARD_REMOVED: 3, CANCELLED_ON_READER: 4, RESULT_SHOWN: 5 } as const;
export type TxnEndReasonCode = (typeof TxnEndReason)[keyof typeof TxnEndReason];

/** STATUS states. */
export const ReaderState = { IDLE: 0, WAITING_FOR_CARD: 1, READING: 2, SHOWING_RESULT: 3, FAULT: 4 } as const;
export type ReaderStateCode = (typeof ReaderState)[keyof typeof ReaderState];

/** HELLO capability bits; SECURE_SESSION (1.1) says the sender can authenticate and seal (reader) or offers it (node). */
export const Capability = { CONTACT: 0x01, CONTACTLESS: 0x02, DISPLAY: 0x04, SECURE_SESSION: 0x08 } as const;
export const STATUS_FLAG_CARD_PRESENT = 0x01;

/** ERROR codes (PROTOCOL.md 5.3). 6-127 are reserved and 128-255 the reader maker's own: both read as FAULT. */
export const ErrorCode = { INCOMPATIBLE: 1, BUSY: 2, FAULT: 3, AUTHENTICATION_FAILED: 4, SECURE_SESSION_REQUIRED: 5 } as const;

/** String limits in bytes (PROTOCOL.md 5.1). */
export const Limits = { MODEL: 32, FIRMWARE_VERSION: 32, RESULT_CODE_MIN: 1, RESULT_CODE: 4, RESULT_TEXT: 64, ERROR_TEXT: 128 } as const;

/** The smallest maxPayload a reader may announce: the node's largest message, ERROR with its longest text. */
export const MIN_READER_MAX_PAYLOAD = 2 + Limits.ERROR_TEXT;

/** Fixed sizes of the secure session's fields (PROTOCOL.md 8). */
export const SecureSizes = { NONCE: 32, PUBLIC_KEY: 32, SIGNATURE: 64, TOKEN: 32, LAST4: 4, SEALED_MIN: 49, SEALED_MAX: 512 } as const;

export interface HelloMessage {
  readonly kind: 'HELLO';
  readonly protocolVersion: number;
  readonly capabilities: number;
  readonly maxPayload: number;
  readonly model: string;
  readonly firmwareVersion: string;
}
export interface AuthChallengeMessage {
  readonly kind: 'AUTH_CHALLENGE';
  /** Fresh random bytes per challenge: a response to an earlier one does not verify. */
  readonly nodeNonce: Uint8Array;
}
export interface AuthResponseMessage {
  readonly kind: 'AUTH_RESPONSE';
  /** The reader's Ed25519 public key, raw: the node compares it with the one its lane pins. */
  readonly readerKey: Uint8Array;
  readonly readerNonce: Uint8Array;
  readonly signature: Uint8Array;
}
export interface AckMessage {
  readonly kind: 'ACK';
}
export interface NakMessage {
  readonly kind: 'NAK';
  readonly reason: NakReasonCode;
}
export interface StartTxnMessage {
  readonly kind: 'START_TXN';
  readonly txnId: number;
  /** u64 on the wire, so a bigint: a number would silently lose precision above 2^53. */
  readonly amountMinor: bigint;
  readonly currencyNumeric: number;
  readonly timeoutS: number;
}
export interface CardDataMessage {
  readonly kind: 'CARD_DATA';
  readonly txnId: number;
  /** Raw BER-TLV: parsed by the transaction, not the link, so a bad card fails a transaction rather than the link. */
  readonly tlv: Uint8Array;
}
export interface ShowResultMessage {
  readonly kind: 'SHOW_RESULT';
  readonly txnId: number;
  readonly approved: boolean;
  readonly code: string;
  readonly text: string;
}
export interface CancelMessage {
  readonly kind: 'CANCEL';
  readonly txnId: number;
}
export interface TxnEndedMessage {
  readonly kind: 'TXN_ENDED';
  readonly txnId: number;
  readonly reason: TxnEndReasonCode;
}
/** Card data in a secure session: the reader has tokenized and sealed the PAN, and signed the whole. */
export interface SealedCardMessage {
  readonly kind: 'SEALED_CARD';
  readonly txnId: number;
  /** HMAC-SHA256 of the PAN under the store's token key. */
  readonly token: Uint8Array;
  readonly last4: string;
  /** Bit 0: the PAN passes the Luhn check. */
  readonly flags: number;
  /** libsodium sealed box of {"pan","expiry"} to the centre's key. */
  readonly sealed: Uint8Array;
  /** BER-TLV without any tag that carries the PAN or track data. */
  readonly tlv: Uint8Array;
  readonly signature: Uint8Array;
}
export const SEALED_CARD_FLAG_LUHN_VALID = 0x01;
export interface StatusRequestMessage {
  readonly kind: 'STATUS_REQUEST';
}
export interface StatusMessage {
  readonly kind: 'STATUS';
  readonly state: ReaderStateCode;
  readonly flags: number;
}
export interface ErrorMessage {
  readonly kind: 'ERROR';
  readonly code: number;
  readonly text: string;
}

export type Message =
  | HelloMessage
  | AuthChallengeMessage
  | AuthResponseMessage
  | SealedCardMessage
  | AckMessage
  | NakMessage
  | StartTxnMessage
  | CardDataMessage
  | ShowResultMessage
  | CancelMessage
  | TxnEndedMessage
  | StatusRequestMessage
  | StatusMessage
  | ErrorMessage;

/** Messages a caller may hand to Link.send: ACK and NAK belong to the link layer itself. */
export type DataMessage = Exclude<Message, AckMessage | NakMessage>;

export function isKnownType(type: number): type is MessageTypeCode {
  return (Object.values(MessageType) as number[]).includes(type);
}
