/**
 * The frame of PROTOCOL.md 2: STX, LEN (u16, SEQ + TYPE + PAYLOAD), SEQ, TYPE, PAYLOAD, CRC, ETX.
 * No byte stuffing, so a frame is recognised by LEN range, ETX position and CRC together.
 */
import { crc16 } from './crc16.js';
import { ProtocolError } from './errors.js';

export const STX = 0x02;
export const ETX = 0x03;
export const MAX_PAYLOAD = 1024;
/** LEN counts SEQ and TYPE as well as the payload. */
export const MIN_LEN = 2;
export const MAX_LEN = MIN_LEN + MAX_PAYLOAD;
/** STX + LEN(2) before the LEN-counted bytes, CRC(2) + ETX after them. */
export const FRAME_OVERHEAD_BYTES = 6;
/** The most a decoder ever needs to hold: one candidate frame of maximum LEN (the spec's 2 + MAX_PAYLOAD + 6). */
export const MAX_FRAME_BYTES = MAX_LEN + FRAME_OVERHEAD_BYTES;

export interface Frame {
  readonly seq: number;
  readonly type: number;
  readonly payload: Uint8Array;
}

/**
 * Decodes exactly one complete frame (a test and tooling helper; the serial path uses FrameDecoder,
 * which never throws). Checks in the decoder's order: LEN, then ETX, then CRC.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length < MIN_LEN + FRAME_OVERHEAD_BYTES || bytes[0] !== STX) {
    throw new ProtocolError('EDGEPAY_FRAME_BAD_LENGTH', 'not a frame: too short or no STX', { sizeBytes: bytes.length });
  }
  const len = ((bytes[1] as number) << 8) | (bytes[2] as number);
  if (len < MIN_LEN || len > MAX_LEN || len + FRAME_OVERHEAD_BYTES !== bytes.length) {
    throw new ProtocolError('EDGEPAY_FRAME_BAD_LENGTH', `frame LEN ${len} does not fit ${bytes.length} bytes`, { len, sizeBytes: bytes.length });
  }
  const seq = bytes[3] as number;
  if (bytes[bytes.length - 1] !== ETX) {
    throw new ProtocolError('EDGEPAY_FRAME_BAD_END', 'frame does not end with ETX', { seq });
  }
  const expected = ((bytes[3 + len] as number) << 8) | (bytes[4 + len] as number);
  if (crc16(bytes, 1, 3 + len) !== expected) {
    throw new ProtocolError('EDGEPAY_FRAME_BAD_CRC', 'frame CRC does not match', { seq });
  }
  return { seq, type: bytes[4] as number, payload: bytes.slice(5, 3 + len) };
}
