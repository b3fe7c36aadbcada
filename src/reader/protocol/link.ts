/**
 * The link layer of PROTOCOL.md 3 as a transport-agnostic state machine: bytes in through
 * receive(), bytes out through the injected write(), time through injected timers, so the same
 * code runs on a serial port, in the simulated reader and in deterministic fault-injection tests.
 *
 * Choices beyond the spec:
 * - An ACK or NAK frame is never answered, not even when its payload is wrong: answering link
 *   control with link control could echo between two confused peers forever. A one-byte NAK with
 *   an undefined reason still triggers a retransmission, which is always safe.
 * - A NAK for a damaged frame (reasons 1-3) retransmits at once; a NAK and a timeout both spend
 *   one retransmission of the budget. A NAK saying the peer cannot take the frame (4 unknown
 *   type, 5 malformed payload) fails that send at once and leaves the link up: the same bytes
 *   would be refused again, and retransmitting them would only take the link down. This is what
 *   lets a peer send a newer message to an older one safely.
 * - Once down, a link stays down: the owner reopens the port and builds a new Link, which starts
 *   both SEQ counters afresh as the spec requires after an open.
 * - Bytes the decoder rejects are NAKed only when their SEQ could be read (a bad CRC or end byte),
 *   never with an invented one: a NAK for SEQ 0 would spend the retransmission budget of a real
 *   frame 0. And one NAK per damaged frame: after a decoder NAK, the rejections found while the
 *   decoder resyncs inside the damaged bytes are not NAKed until a frame is accepted or ackMs has
 *   passed (the sender retransmits on the first NAK or on its own timeout either way).
 */
import { BadInputError, type FieldProblem } from '../../errors.js';
import { type Timers, systemTimers } from '../../platform/timers.js';
import { ProtocolError, isProtocolError } from './errors.js';
import type { DecoderEvent } from './frame-decoder.js';
import { FrameDecoder } from './frame-decoder.js';
import { encodeFrame } from './frame-encoder.js';
import { MessageType, NakReason, type DataMessage, type NakReasonCode } from './message-types.js';
import { decodeMessage, encodeMessage } from './messages.js';

export type LinkTimers = Timers;

export type LinkDownReason = 'retransmissions_exhausted' | 'write_failed';

export interface LinkOptions {
  write(bytes: Uint8Array): void;
  onMessage(msg: DataMessage): void;
  onLinkDown(reason: LinkDownReason): void;
  /** The reader profile's timeouts.ackMs. */
  readonly ackTimeoutMs: number;
  /** The reader profile's timeouts.retransmissions: resends of one frame before the link is down. */
  readonly retransmissions: number;
  /** Sends waiting behind the one in flight; one more is refused with EDGEPAY_LINK_OVERLOADED. */
  readonly maxQueuedSends?: number;
  readonly timers?: LinkTimers;
}

export interface LinkStats {
  framesSent: number;
  retransmissions: number;
  naksSent: number;
  duplicatesAcked: number;
}

export const DEFAULT_MAX_QUEUED_SENDS = 16;

const NAK_FOR_DECODER_ERROR: Record<Extract<DecoderEvent, { kind: 'error' }>['error'], NakReasonCode> = {
  bad_crc: NakReason.BAD_CRC,
  bad_end: NakReason.BAD_END,
  oversize: NakReason.BAD_LENGTH,
  undersize: NakReason.BAD_LENGTH,
};

interface PendingSend {
  readonly type: number;
  readonly payload: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: ProtocolError) => void;
}

interface InFlight {
  readonly pending: PendingSend;
  readonly seq: number;
  readonly frame: Uint8Array;
  retransmissionsUsed: number;
  timer: unknown;
}

export class Link {
  private readonly decoder = new FrameDecoder();
  private readonly timers: LinkTimers;
  private readonly maxQueuedSends: number;
  private readonly queue: PendingSend[] = [];
  private inFlight: InFlight | undefined;
  private nextTxSeq = 0;
  private lastAcceptedRxSeq: number | undefined;
  private state: 'open' | 'down' | 'closed' = 'open';
  /** Set while decoder rejections are not NAKed: from a decoder NAK until a frame is accepted or ackMs passes. */
  private nakHold: unknown;
  readonly stats: LinkStats = { framesSent: 0, retransmissions: 0, naksSent: 0, duplicatesAcked: 0 };

  constructor(private readonly opts: LinkOptions) {
    const problems: FieldProblem[] = [];
    if (!(Number.isFinite(opts.ackTimeoutMs) && opts.ackTimeoutMs > 0)) problems.push({ path: 'ackTimeoutMs', message: 'must be > 0', value: opts.ackTimeoutMs });
    if (!(Number.isInteger(opts.retransmissions) && opts.retransmissions >= 0)) problems.push({ path: 'retransmissions', message: 'must be an integer >= 0', value: opts.retransmissions });
    const maxQueued = opts.maxQueuedSends ?? DEFAULT_MAX_QUEUED_SENDS;
    if (!(Number.isInteger(maxQueued) && maxQueued >= 0)) problems.push({ path: 'maxQueuedSends', message: 'must be an integer >= 0', value: maxQueued });
    if (problems.length > 0) throw new BadInputError('link options', problems);
    this.maxQueuedSends = maxQueued;
    this.timers = opts.timers ?? systemTimers;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Resolves when the peer ACKs the frame; rejects with EDGEPAY_LINK_DOWN, _CLOSED, _OVERLOADED or _MESSAGE_INVALID. */
  send(msg: DataMessage): Promise<void> {
    if (this.state !== 'open') return Promise.reject(this.stateError());
    let encoded: { type: number; payload: Uint8Array };
    try {
      if ((msg.kind as string) === 'ACK' || (msg.kind as string) === 'NAK') {
        throw new ProtocolError('EDGEPAY_MESSAGE_INVALID', 'ACK and NAK are sent by the link itself', { message: msg.kind });
      }
      encoded = encodeMessage(msg);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.queue.length >= this.maxQueuedSends && this.inFlight !== undefined) {
      return Promise.reject(new ProtocolError('EDGEPAY_LINK_OVERLOADED', `${this.queue.length} sends already queued`, { maxQueuedSends: this.maxQueuedSends }));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...encoded, resolve, reject });
      this.pump();
    });
  }

  receive(chunk: Uint8Array): void {
    if (this.state !== 'open') return;
    let callbackError: { error: unknown } | undefined;
    for (const event of this.decoder.push(chunk)) {
      if (this.state !== 'open') break;
      if (event.kind === 'error') {
        this.nakDecoderError(event);
        continue;
      }
      this.releaseNakHold();
      try {
        this.onFrame(event.seq, event.type, event.payload);
      } catch (error) {
        // A throwing onMessage is the owner's bug; the rest of the chunk is still handled so the link state stays true.
        callbackError ??= { error };
      }
    }
    if (callbackError) throw callbackError.error;
  }

  /** Rejects every pending send with EDGEPAY_LINK_CLOSED; onLinkDown is not called for a deliberate close. */
  close(): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.releaseNakHold();
    if (wasOpen) this.failAll(this.stateError());
    this.decoder.reset();
  }

  private onFrame(seq: number, type: number, payload: Uint8Array): void {
    if (type === MessageType.ACK) {
      if (payload.length === 0 && this.inFlight?.seq === seq) this.acknowledged();
      return;
    }
    if (type === MessageType.NAK) {
      if (payload.length !== 1 || this.inFlight?.seq !== seq) return;
      const reason = payload[0];
      if (reason === NakReason.UNKNOWN_TYPE || reason === NakReason.MALFORMED) this.refused(reason);
      else this.retransmitOrGiveUp();
      return;
    }
    let msg: DataMessage;
    try {
      msg = decodeMessage(type, payload) as DataMessage;
    } catch (error) {
      if (!isProtocolError(error)) throw error;
      this.writeControl(MessageType.NAK, seq, error.code === 'EDGEPAY_FRAME_UNKNOWN_TYPE' ? NakReason.UNKNOWN_TYPE : NakReason.MALFORMED);
      return;
    }
    const duplicate = seq === this.lastAcceptedRxSeq;
    this.lastAcceptedRxSeq = seq;
    this.writeControl(MessageType.ACK, seq);
    if (duplicate) {
      this.stats.duplicatesAcked++;
      return;
    }
    this.opts.onMessage(msg);
  }

  private pump(): void {
    if (this.state !== 'open' || this.inFlight !== undefined) return;
    const pending = this.queue.shift();
    if (!pending) return;
    const seq = this.nextTxSeq;
    this.nextTxSeq = (seq + 1) & 0xff;
    this.inFlight = { pending, seq, frame: encodeFrame(seq, pending.type, pending.payload), retransmissionsUsed: 0, timer: undefined };
    this.transmit(this.inFlight);
  }

  private transmit(flight: InFlight): void {
    // The timer is armed before writing because a synchronous transport may deliver the ACK
    // inside write(); acknowledged() then finds and clears it instead of leaving it behind.
    flight.timer = this.timers.setTimeout(() => {
      flight.timer = undefined;
      if (this.inFlight === flight) this.retransmitOrGiveUp();
    }, this.opts.ackTimeoutMs);
    this.stats.framesSent++;
    this.write(flight.frame);
  }

  private retransmitOrGiveUp(): void {
    const flight = this.inFlight;
    if (!flight) return;
    this.stopTimer(flight);
    if (flight.retransmissionsUsed >= this.opts.retransmissions) {
      this.goDown('retransmissions_exhausted');
      return;
    }
    flight.retransmissionsUsed++;
    this.stats.retransmissions++;
    this.transmit(flight);
  }

  private refused(reason: NakReasonCode): void {
    const flight = this.inFlight;
    if (!flight) return;
    this.stopTimer(flight);
    this.inFlight = undefined;
    const why = reason === NakReason.UNKNOWN_TYPE ? 'an unknown message type' : 'a malformed payload';
    flight.pending.reject(new ProtocolError('EDGEPAY_LINK_REFUSED', `the peer refused message type ${flight.pending.type} as ${why}`, { type: flight.pending.type, nakReason: reason }));
    this.pump();
  }

  private acknowledged(): void {
    const flight = this.inFlight;
    if (!flight) return;
    this.stopTimer(flight);
    this.inFlight = undefined;
    flight.pending.resolve();
    this.pump();
  }

  private writeControl(type: number, seq: number, reason?: NakReasonCode): void {
    if (type === MessageType.NAK) this.stats.naksSent++;
    this.write(encodeFrame(seq, type, reason === undefined ? new Uint8Array(0) : Uint8Array.of(reason)));
  }

  private write(bytes: Uint8Array): void {
    try {
      this.opts.write(bytes);
    } catch {
      this.goDown('write_failed');
    }
  }

  private nakDecoderError(event: Extract<DecoderEvent, { kind: 'error' }>): void {
    if (event.seq === undefined || this.nakHold !== undefined) return;
    this.writeControl(MessageType.NAK, event.seq, NAK_FOR_DECODER_ERROR[event.error]);
    this.nakHold = this.timers.setTimeout(() => {
      this.nakHold = undefined;
    }, this.opts.ackTimeoutMs);
  }

  private releaseNakHold(): void {
    if (this.nakHold === undefined) return;
    this.timers.clearTimeout(this.nakHold);
    this.nakHold = undefined;
  }

  private goDown(reason: LinkDownReason): void {
    if (this.state !== 'open') return;
    this.state = 'down';
    this.releaseNakHold();
    this.failAll(new ProtocolError('EDGEPAY_LINK_DOWN', `reader link down: ${reason}`, { reason }));
    this.opts.onLinkDown(reason);
  }

  private failAll(error: ProtocolError): void {
    const flight = this.inFlight;
    this.inFlight = undefined;
    if (flight) {
      this.stopTimer(flight);
      flight.pending.reject(error);
    }
    for (const pending of this.queue.splice(0)) pending.reject(error);
  }

  private stopTimer(flight: InFlight): void {
    if (flight.timer !== undefined) this.timers.clearTimeout(flight.timer);
    flight.timer = undefined;
  }

  private stateError(): ProtocolError {
    return this.state === 'closed' ? new ProtocolError('EDGEPAY_LINK_CLOSED', 'reader link closed') : new ProtocolError('EDGEPAY_LINK_DOWN', 'reader link is down');
  }
}
