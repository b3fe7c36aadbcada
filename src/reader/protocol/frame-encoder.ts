import { crc16 } from './crc16.js';
import { ProtocolError } from './errors.js';
import { ETX, FRAME_OVERHEAD_BYTES, MAX_PAYLOAD, MIN_LEN, STX } from './frame.js';

function isByte(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xff;
}

/** Builds the wire bytes of one frame; refuses rather than truncates or wraps a bad header. */
export function encodeFrame(seq: number, type: number, payload: Uint8Array): Uint8Array {
  if (!isByte(seq)) throw new ProtocolError('EDGEPAY_FRAME_BAD_HEADER', `SEQ ${seq} is not 0..255`, { seq });
  if (!isByte(type)) throw new ProtocolError('EDGEPAY_FRAME_BAD_HEADER', `TYPE ${type} is not 0..255`, { type });
  if (payload.length > MAX_PAYLOAD) {
    throw new ProtocolError('EDGEPAY_FRAME_OVERSIZE', `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`, {
      sizeBytes: payload.length,
      maxBytes: MAX_PAYLOAD,
    });
  }
  const len = MIN_LEN + payload.length;
  const out = new Uint8Array(len + FRAME_OVERHEAD_BYTES);
  out[0] = STX;
  out[1] = len >> 8;
  out[2] = len & 0xff;
  out[3] = seq;
  out[4] = type;
  out.set(payload, 5);
  const crc = crc16(out, 1, 3 + len);
  out[3 + len] = crc >> 8;
  out[4 + len] = crc & 0xff;
  out[5 + len] = ETX;
  return out;
}
