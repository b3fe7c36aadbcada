/** Public face of the reader wire protocol (PROTOCOL.md): framing, messages, BER-TLV, EMV card data, link layer. */
export { ProtocolError, isProtocolError, type ProtocolErrorCode } from './errors.js';
export { crc16 } from './crc16.js';
export { STX, ETX, MAX_PAYLOAD, MAX_FRAME_BYTES, decodeFrame, type Frame } from './frame.js';
export { encodeFrame } from './frame-encoder.js';
export { FrameDecoder, type DecoderEvent, type DecoderErrorKind } from './frame-decoder.js';
export * from './message-types.js';
export { encodeMessage, decodeMessage, sealedCardSignedPart } from './messages.js';
export {
  parseTlv,
  findAllTlv,
  isConstructedTag,
  tagHex,
  TLV_MAX_INPUT_BYTES,
  TLV_MAX_OBJECTS,
  TLV_MAX_DEPTH,
  type TlvObject,
  type TlvErrorReason,
} from './tlv.js';
export { encodeTlv, type TlvNode } from './tlv-encode.js';
export { cardFromEmv, sealedCardTerms, EmvTag, type EmvCard, type EmvExpectation } from './emv.js';
export { emvForCard, type EmvCardSpec } from './emv-build.js';
export { Link, DEFAULT_MAX_QUEUED_SENDS, type LinkOptions, type LinkTimers, type LinkDownReason, type LinkStats } from './link.js';
export {
  CLEAR_CARD_TAGS,
  authSignedBytes,
  sealedCardSignedBytes,
  readerKeyPairFromSeed,
  readerPublicKey,
  signAsReader,
  verifyReaderSignature,
  keyFingerprint,
  sameBytes,
  type SessionNonces,
  type ReaderKeyPair,
} from './secure.js';
