/**
 * Streaming frame decoder implementing PROTOCOL.md 2.1 "Decoding and resynchronisation" exactly.
 *
 * Bytes are held in one fixed buffer of MAX_FRAME_BYTES: a candidate frame is at most that long and
 * every candidate is either completed or rejected before more input is taken, so the buffer can
 * never need more. Rejecting a candidate drops only its STX, so a real frame that starts inside the
 * rejected bytes is still found.
 *
 * Not in the spec, pinned down by vectors.json: a candidate with both a wrong ETX and a wrong CRC
 * reports only `bad_end` (ETX is checked first); an incomplete candidate reports nothing, and holds
 * back any frame inside it until enough bytes arrive to complete and reject it.
 */
import { crc16 } from './crc16.js';
import { ETX, FRAME_OVERHEAD_BYTES, MAX_FRAME_BYTES, MAX_LEN, MIN_LEN, STX } from './frame.js';

export type DecoderErrorKind = 'bad_crc' | 'bad_end' | 'oversize' | 'undersize';

export type DecoderEvent =
  | { readonly kind: 'frame'; readonly seq: number; readonly type: number; readonly payload: Uint8Array }
  /** `seq` is present when the candidate's header was complete (bad_crc, bad_end), for the NAK. */
  | { readonly kind: 'error'; readonly error: DecoderErrorKind; readonly seq?: number };

/** STX + LEN: the bytes needed before a candidate's length can be judged. */
const PREFIX_BYTES = 3;

export class FrameDecoder {
  private readonly buffer = new Uint8Array(MAX_FRAME_BYTES);
  private start = 0;
  private end = 0;

  /** Bytes currently held (garbage is never held; at most MAX_FRAME_BYTES − 1 between pushes). */
  get bufferedBytes(): number {
    return this.end - this.start;
  }

  /** Forgets any partial candidate, as when the port is reopened. */
  reset(): void {
    this.start = 0;
    this.end = 0;
  }

  push(chunk: Uint8Array): DecoderEvent[] {
    const events: DecoderEvent[] = [];
    let taken = 0;
    while (taken < chunk.length) {
      taken += this.fill(chunk, taken);
      this.drain(events);
    }
    return events;
  }

  private fill(chunk: Uint8Array, from: number): number {
    if (this.end === this.buffer.length && this.start > 0) {
      this.buffer.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    const count = Math.min(this.buffer.length - this.end, chunk.length - from);
    this.buffer.set(chunk.subarray(from, from + count), this.end);
    this.end += count;
    return count;
  }

  /** Consumes everything it can decide on; leaves either nothing or one incomplete candidate at `start`. */
  private drain(events: DecoderEvent[]): void {
    const buf = this.buffer;
    for (;;) {
      const stx = buf.subarray(this.start, this.end).indexOf(STX);
      if (stx < 0) {
        this.start = 0;
        this.end = 0;
        return;
      }
      this.start += stx;
      const held = this.end - this.start;
      if (held < PREFIX_BYTES) return;
      const s = this.start;
      const len = ((buf[s + 1] as number) << 8) | (buf[s + 2] as number);
      if (len < MIN_LEN || len > MAX_LEN) {
        events.push({ kind: 'error', error: len < MIN_LEN ? 'undersize' : 'oversize' });
        this.start += 1;
        continue;
      }
      const total = len + FRAME_OVERHEAD_BYTES;
      if (held < total) return;
      const seq = buf[s + 3] as number;
      if (buf[s + total - 1] !== ETX) {
        events.push({ kind: 'error', error: 'bad_end', seq });
        this.start += 1;
        continue;
      }
      const crc = ((buf[s + 3 + len] as number) << 8) | (buf[s + 4 + len] as number);
      if (crc16(buf, s + 1, s + 3 + len) !== crc) {
        events.push({ kind: 'error', error: 'bad_crc', seq });
        this.start += 1;
        continue;
      }
      events.push({ kind: 'frame', seq, type: buf[s + 4] as number, payload: buf.slice(s + 5, s + 3 + len) });
      this.start += total;
    }
  }
}
