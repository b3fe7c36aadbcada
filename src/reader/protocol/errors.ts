/**
 * Failures of the reader wire protocol. They live beside the codec rather than in src/errors.ts
 * because they describe the serial link to a card reader, not the payment domain; the link layer
 * turns most of them into NAKs, so callers only see the ones that end a send or a transaction.
 */
import { CodedError } from '../../errors.js';

export type ProtocolErrorCode =
  /** A single frame given to decodeFrame failed its CRC; the streaming decoder reports this as an event instead. */
  | 'EDGEPAY_FRAME_BAD_CRC'
  /** The byte at the ETX position of a frame is not 0x03. */
  | 'EDGEPAY_FRAME_BAD_END'
  /** LEN outside 2..2 + MAX_PAYLOAD, or the bytes given do not hold exactly one frame. */
  | 'EDGEPAY_FRAME_BAD_LENGTH'
  /** encodeFrame was asked for a payload over MAX_PAYLOAD bytes. */
  | 'EDGEPAY_FRAME_OVERSIZE'
  /** encodeFrame was given a SEQ or TYPE that is not an integer 0..255. */
  | 'EDGEPAY_FRAME_BAD_HEADER'
  /** A frame's TYPE is not one of PROTOCOL.md 5; answered with NAK reason 4. */
  | 'EDGEPAY_FRAME_UNKNOWN_TYPE'
  /** A payload does not match its message's layout; answered with NAK reason 5. */
  | 'EDGEPAY_FRAME_MALFORMED'
  /** encodeMessage was given a field its layout cannot carry (out of range, too long, not ASCII). */
  | 'EDGEPAY_MESSAGE_INVALID'
  /** BER-TLV refused; `details.reason` is one of TlvErrorReason and `details.offset` where it was found. */
  | 'EDGEPAY_TLV_INVALID'
  /** Card data is well-formed but its amount or currency is not what the node asked for. */
  | 'EDGEPAY_CARD_DATA_MISMATCH'
  /** Card data lacks a tag the node needs or holds one that is not valid BCD of the right size. */
  | 'EDGEPAY_CARD_DATA_INVALID'
  /** A secure session's card data holds a tag that carries the PAN, track data or the name (PROTOCOL.md 8). */
  | 'EDGEPAY_CARD_DATA_IN_CLEAR'
  /** SEALED_CARD's signature does not verify with the lane's pinned reader key and this session's nonces. */
  | 'EDGEPAY_CARD_SIGNATURE_INVALID'
  /** Card data of the wrong kind for the session: CARD_DATA on a secure session, SEALED_CARD on a clear one. */
  | 'EDGEPAY_CARD_DATA_WRONG_SESSION'
  /** No ACK after the retransmission budget (or the transport failed); every pending send is rejected. */
  | 'EDGEPAY_LINK_DOWN'
  /** The outgoing queue is full; the caller should back off rather than queue without bound. */
  | 'EDGEPAY_LINK_OVERLOADED'
  /** The link was closed by its owner; pending sends are rejected with this. */
  | 'EDGEPAY_LINK_CLOSED'
  /** The peer NAKed the frame as of an unknown type or malformed (reasons 4, 5): sent again it would be refused again; the link stays up. */
  | 'EDGEPAY_LINK_REFUSED';

export class ProtocolError extends CodedError<ProtocolErrorCode> {}

export function isProtocolError(value: unknown, code?: ProtocolErrorCode): value is ProtocolError {
  return value instanceof ProtocolError && (code === undefined || value.code === code);
}
