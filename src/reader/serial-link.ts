import { EdgepayError } from '../errors.js';
import { type Timers, systemTimers } from '../platform/timers.js';
import type { ReaderProfile } from './profile.js';
import { type DataMessage, Link, type LinkDownReason, type LinkStats, isProtocolError } from './protocol/index.js';
import type { SerialChannel } from './serial-channel.js';

export interface SerialLinkHandlers {
  onMessage(msg: DataMessage): void;
  onLinkDown(reason: LinkDownReason): void;
  /** Lets the simulated reader damage an outgoing frame on purpose; the real path never sets it. */
  transformOutgoing?(frame: Uint8Array): Uint8Array;
}

/**
 * The protocol's link layer on an open serial port. It does not own the port: the node closes the
 * port when the link goes down, while the simulated reader keeps its end open and starts a fresh
 * link, as firmware does when nobody answered.
 */
export class SerialLink {
  private readonly link: Link;
  private readonly onData: (chunk: Buffer) => void;
  private detached = false;

  constructor(
    private readonly port: SerialChannel,
    profile: ReaderProfile,
    private readonly handlers: SerialLinkHandlers,
    timers: Timers = systemTimers,
  ) {
    this.link = new Link({
      write: (bytes) => this.write(bytes),
      onMessage: (msg) => handlers.onMessage(msg),
      onLinkDown: (reason) => handlers.onLinkDown(reason),
      ackTimeoutMs: profile.timeouts.ackMs,
      retransmissions: profile.timeouts.retransmissions,
      timers,
    });
    this.onData = (chunk) => this.link.receive(chunk);
    port.on('data', this.onData);
  }

  get stats(): Readonly<LinkStats> {
    return this.link.stats;
  }

  get isOpen(): boolean {
    return !this.detached && this.link.isOpen;
  }

  /** Resolves once ACKed; rejects with the protocol's EDGEPAY_LINK_* codes (see linkFailure). */
  send(msg: DataMessage): Promise<void> {
    return this.link.send(msg);
  }

  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.port.off('data', this.onData);
    this.link.close();
  }

  private write(bytes: Uint8Array): void {
    if (this.detached) return;
    // Throwing takes the link down; serialport would instead queue the bytes until a reopen that may never come.
    if (!this.port.isOpen) throw new Error('serial port is closed');
    const frame = this.handlers.transformOutgoing?.(bytes) ?? bytes;
    // A write that fails later ends the line itself (both ports treat it as a disconnect): the owner's close handler reports it.
    this.port.write(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
  }
}

/** Maps a failed link send to the reader error a caller branches on. */
export function linkFailure(error: unknown, details: Record<string, unknown>): Error {
  if (!isProtocolError(error)) return error instanceof Error ? error : new Error(String(error));
  switch (error.code) {
    case 'EDGEPAY_LINK_DOWN':
    case 'EDGEPAY_LINK_CLOSED':
      return new EdgepayError('EDGEPAY_READER_LOST', `the reader link went down: ${error.message}`, details, { cause: error });
    case 'EDGEPAY_LINK_OVERLOADED':
      return new EdgepayError('EDGEPAY_READER_BUSY', 'the reader link has too many messages queued', details, { cause: error });
    case 'EDGEPAY_LINK_REFUSED':
      return new EdgepayError('EDGEPAY_READER_INCOMPATIBLE', `the reader cannot take this message: ${error.message}`, { ...details, ...error.details }, { cause: error });
    case 'EDGEPAY_MESSAGE_INVALID':
      return new EdgepayError('EDGEPAY_BAD_INPUT', `cannot send to the reader: ${error.message}`, { ...details, ...error.details }, { cause: error });
    default:
      return error;
  }
}
