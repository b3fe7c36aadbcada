import { EventEmitter } from 'node:events';
import type { ReaderProfile } from '../profile.js';
import { STX } from '../protocol/index.js';
import type { SerialChannel } from '../serial-channel.js';

/*
 * A pseudo-terminal moves bytes as fast as memory does, so a simulated reader on one would beat
 * any real reader. Pacing puts the UART back: each direction is one serial line that carries one
 * byte per (start + data + parity + stop) bits at the profile's baud rate, and a frame exists for
 * its receiver only once its last byte has crossed.
 */

/** Bits one byte occupies on the line: a start bit, the data bits, the parity bit if any, the stop bits. */
export function bitsPerByte(serial: ReaderProfile['serial']): number {
  return 1 + serial.dataBits + (serial.parity === 'none' ? 0 : 1) + serial.stopBits;
}

/** How long `bytes` take to cross a line with these settings, in milliseconds. */
export function wireTimeMs(bytes: number, serial: ReaderProfile['serial']): number {
  return (bytes * bitsPerByte(serial) * 1000) / serial.baudRate;
}

/** Below this, a timer's millisecond granularity would dominate a frame's wire time: the rest is waited by polling. */
const SPIN_MS = 2;

/** One direction of the line: whatever is pushed comes out in order, each piece once it has crossed. */
class PacedLine {
  private readonly queue: { readonly bytes: Buffer; readonly at: number }[] = [];
  private freeAt = 0;
  private cancelWait: (() => void) | undefined;

  constructor(
    private readonly serial: ReaderProfile['serial'],
    private readonly deliver: (bytes: Buffer) => void,
  ) {}

  push(bytes: Buffer): void {
    // A line that was idle starts carrying now; a busy one only after what it already carries.
    this.freeAt = Math.max(performance.now(), this.freeAt) + wireTimeMs(bytes.length, this.serial);
    this.queue.push({ bytes, at: this.freeAt });
    if (this.cancelWait === undefined) this.arm();
  }

  close(): void {
    this.cancelWait?.();
    this.cancelWait = undefined;
    this.queue.length = 0;
  }

  private arm(): void {
    const head = this.queue[0];
    if (head === undefined) return;
    const remaining = head.at - performance.now();
    if (remaining > SPIN_MS) {
      const timer = setTimeout(() => this.arm(), remaining - SPIN_MS);
      this.cancelWait = () => clearTimeout(timer);
    } else if (remaining > 0) {
      // setImmediate keeps the event loop turning (the other direction still flows) while it waits.
      const immediate = setImmediate(() => this.arm());
      this.cancelWait = () => clearImmediate(immediate);
    } else {
      this.cancelWait = undefined;
      const now = performance.now();
      while (this.queue.length > 0 && (this.queue[0] as { at: number }).at <= now) {
        this.deliver((this.queue.shift() as { bytes: Buffer }).bytes);
      }
      // A delivery may have pushed (and so armed) already.
      if (this.cancelWait === undefined) this.arm();
    }
  }
}

/**
 * Cuts a chunk where its frames end, so each frame is handed on once its own bytes have crossed
 * rather than once the whole chunk has. Only timing depends on the cuts, never the bytes: a chunk
 * that does not start with a frame header goes on whole, and the link's decoder reassembles any split.
 */
export function cutAtFrames(chunk: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  let at = 0;
  while (at < chunk.length) {
    let end = chunk.length;
    if (chunk[at] === STX && at + 2 < chunk.length) {
      const len = ((chunk[at + 1] as number) << 8) | (chunk[at + 2] as number);
      end = Math.min(chunk.length, at + len + 6);
    }
    pieces.push(chunk.subarray(at, end));
    at = end;
  }
  return pieces;
}

/**
 * The simulated reader's end of the line, paced like a real UART: frames from the node reach the
 * reader one wire time after they were written, and the reader's own frames reach the node one
 * wire time after it wrote them.
 */
export class PacedChannel implements SerialChannel {
  private readonly events = new EventEmitter<{ data: [chunk: Buffer] }>();
  private readonly rx: PacedLine;
  private readonly tx: PacedLine;
  private readonly onInnerData = (chunk: Buffer): void => {
    for (const piece of cutAtFrames(chunk)) this.rx.push(piece);
  };
  private closed = false;

  constructor(
    private readonly inner: SerialChannel,
    serial: ReaderProfile['serial'],
  ) {
    this.rx = new PacedLine(serial, (bytes) => this.events.emit('data', bytes));
    this.tx = new PacedLine(serial, (bytes) => {
      if (this.inner.isOpen) this.inner.write(bytes);
    });
    inner.on('data', this.onInnerData);
  }

  get isOpen(): boolean {
    return !this.closed && this.inner.isOpen;
  }

  write(bytes: Buffer): boolean {
    if (!this.isOpen) throw new Error('serial port is closed');
    this.tx.push(Buffer.from(bytes));
    return true;
  }

  on(event: 'data', listener: (chunk: Buffer) => void): this {
    this.events.on(event, listener);
    return this;
  }

  off(event: 'data', listener: (chunk: Buffer) => void): this {
    this.events.off(event, listener);
    return this;
  }

  /** Drops what is still on the line: the device is going away. Does not close the port underneath. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.off('data', this.onInnerData);
    this.rx.close();
    this.tx.close();
  }
}
