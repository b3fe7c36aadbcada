import { EventEmitter } from 'node:events';
import { EdgepayError } from '../errors.js';
import type { ReaderPort, SerialChannel } from '../reader/serial-channel.js';
import type { SimScheduler } from './scheduler.js';

/** Start bit, eight data bits, stop bit. */
const BITS_PER_BYTE = 10;

/** One end of the line: bytes out through the line, bytes in as 'data', and 'close' once when it ends. */
class LineEnd extends EventEmitter<{ data: [chunk: Buffer]; close: [reason: string] }> implements ReaderPort {
  private open = true;

  constructor(private readonly line: SimSerialLine) {
    super();
  }

  get isOpen(): boolean {
    return this.open;
  }

  write(bytes: Buffer): boolean {
    if (!this.open) throw new Error('serial line is closed');
    this.line.carry(this, Buffer.from(bytes));
    return true;
  }

  close(): Promise<void> {
    this.end('closed');
    return Promise.resolve();
  }

  end(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.emit('close', reason);
  }
}

/**
 * A reader's serial cable on simulated time: bytes take their wire time at the line's baud rate
 * and arrive in order, each direction one after the other. Unplugging ends both ends at once (the
 * node's port reads end of stream, the reader loses power) and the device node is gone until it
 * is plugged in again, when the reader boots afresh on a new end.
 */
export class SimSerialLine {
  private plugged = true;
  private nodeEnd: LineEnd | undefined;
  private readerEnd: LineEnd;
  private readonly freeAtMs = new Map<LineEnd, number>();
  private firmware: { stop(): void };

  constructor(
    private readonly scheduler: SimScheduler,
    readonly path: string,
    private readonly baud: number,
    /** The reader's firmware, booted on its end of the line: at the start and after every replug. */
    private readonly boot: (end: SerialChannel) => { stop(): void },
  ) {
    this.readerEnd = new LineEnd(this);
    this.firmware = this.boot(this.readerEnd);
  }

  get isPlugged(): boolean {
    return this.plugged;
  }

  /** The node opens the device: refused while it is unplugged, as a missing /dev node is. */
  async open(): Promise<ReaderPort> {
    if (!this.plugged) throw new EdgepayError('EDGEPAY_READER_UNAVAILABLE', `${this.path}: no such device (unplugged)`, { port: this.path });
    this.nodeEnd?.end('reopened');
    this.nodeEnd = new LineEnd(this);
    return this.nodeEnd;
  }

  unplug(): void {
    if (!this.plugged) return;
    this.plugged = false;
    this.firmware.stop();
    this.nodeEnd?.end('end of stream (device gone)');
    this.readerEnd.end('no power');
  }

  replug(): void {
    if (this.plugged) return;
    this.plugged = true;
    this.readerEnd = new LineEnd(this);
    this.firmware = this.boot(this.readerEnd);
  }

  /** Called by an end's write: the bytes reach the other end after the ones before them, unless either end has gone. */
  carry(from: LineEnd, bytes: Buffer): void {
    const to = from === this.readerEnd ? this.nodeEnd : this.readerEnd;
    if (to === undefined || !this.plugged) return;
    const now = this.scheduler.now;
    const arrival = Math.max(now, this.freeAtMs.get(from) ?? 0) + Math.max(1, Math.ceil((bytes.byteLength * BITS_PER_BYTE * 1_000) / this.baud));
    this.freeAtMs.set(from, arrival);
    this.scheduler.after(arrival - now, () => {
      if (from.isOpen && to.isOpen) to.emit('data', bytes);
    });
  }
}
