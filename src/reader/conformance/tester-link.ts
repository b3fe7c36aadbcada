/**
 * The node's end of a reader's line at the frame level, for the conformance runner. The node's own
 * Link hides what a conformance test must see and do: it cannot send a damaged frame, a duplicate,
 * an unknown TYPE or a short payload, and it swallows ACKs and NAKs. So this driver keeps the
 * node's duties (its own SEQ counter, an ACK for every data frame the reader sends, retransmission
 * per the profile's ackMs/retransmissions, a NAK for what it cannot take) and records everything
 * that comes as events, which the cases read from a mark. Framing, CRC and payload layouts are the
 * protocol module's own: nothing here encodes a byte of a frame itself.
 */
import { performance } from 'node:perf_hooks';
import type { ReaderProfile } from '../profile.js';
import { type DataMessage, type DecoderErrorKind, FrameDecoder, MessageType, NakReason, decodeMessage, encodeFrame, encodeMessage, isProtocolError } from '../protocol/index.js';
import type { ReaderPort } from '../serial-channel.js';
import { ConformanceError } from './errors.js';

export type LinkEvent =
  /** A data frame taken (ACKed) for the first time. */
  | { readonly kind: 'message'; readonly atMs: number; readonly seq: number; readonly msg: DataMessage }
  /** A data frame with the SEQ of the last one taken: ACKed again, not taken twice. */
  | { readonly kind: 'duplicate'; readonly atMs: number; readonly seq: number; readonly type: number }
  /** A data frame the runner NAKed: an unknown TYPE (4) or a payload off its layout (5). */
  | { readonly kind: 'refused'; readonly atMs: number; readonly seq: number; readonly type: number; readonly nakReason: 4 | 5; readonly problem: string }
  | { readonly kind: 'ack'; readonly atMs: number; readonly seq: number; readonly payloadBytes: number }
  | { readonly kind: 'nak'; readonly atMs: number; readonly seq: number; readonly reason: number | undefined }
  /** Bytes the decoder rejected (the reader sent a damaged frame, or the line garbled one). */
  | { readonly kind: 'damaged'; readonly atMs: number; readonly error: DecoderErrorKind; readonly seq: number | undefined };

export type Delivery =
  | { readonly outcome: 'ack'; readonly seq: number; readonly attempts: number }
  | { readonly outcome: 'refused'; readonly seq: number; readonly attempts: number; readonly reason: 4 | 5 }
  /** No ACK (nor a NAK 4/5) for the frame after the whole retransmission budget. */
  | { readonly outcome: 'unanswered'; readonly seq: number; readonly attempts: number };

interface Waiter {
  readonly from: number;
  readonly match: (event: LinkEvent) => boolean;
  readonly resolve: (event: LinkEvent | undefined) => void;
  readonly reject: (error: ConformanceError) => void;
  readonly timer: NodeJS.Timeout;
}

export class TesterLink {
  readonly events: LinkEvent[] = [];
  private readonly decoder = new FrameDecoder();
  private readonly waiters = new Set<Waiter>();
  private nextTxSeq = 0;
  private lastAcceptedRxSeq: number | undefined;
  /** The SEQ of the reader's last ACK: a new frame never carries it (see allocateSeq). */
  private lastAckedSeq: number | undefined;
  /** When the last NAK for damaged bytes went out: one per ackMs, as the node's link does. */
  private damagedNakAtMs: number | undefined;
  private gone: string | undefined;

  constructor(
    private readonly port: ReaderPort,
    private readonly profile: ReaderProfile,
  ) {
    port.on('data', (chunk: Buffer) => this.receive(chunk));
    port.on('close', (reason: string) => this.lineGone(reason));
  }

  /** Where the events a case reads start. */
  mark(): number {
    return this.events.length;
  }

  /**
   * The next SEQ, skipping the one the reader acknowledged last: for a reader that keeps its link
   * state across a HELLO exchange (a 1.0 reader does), a frame with that SEQ is a duplicate and
   * would be acknowledged but never processed. Any other SEQ is a new frame under PROTOCOL.md 3.2.
   */
  allocateSeq(): number {
    let seq = this.nextTxSeq;
    if (seq === this.lastAckedSeq) seq = (seq + 1) & 0xff;
    this.nextTxSeq = (seq + 1) & 0xff;
    return seq;
  }

  /** After a HELLO exchange (a new session in protocol 1.1) the node's SEQ starts from 0 again. */
  restartSeq(): void {
    this.nextTxSeq = 0;
  }

  /** Forgets the reader's last SEQ before a HELLO: a reader starting its session afresh may reuse it for its answer. */
  forgetReaderSeq(): void {
    this.lastAcceptedRxSeq = undefined;
  }

  frameOf(msg: DataMessage, seq: number): Uint8Array {
    const { type, payload } = encodeMessage(msg);
    return encodeFrame(seq, type, payload);
  }

  /** A message under the next SEQ, delivered as the node delivers it. */
  send(msg: DataMessage): Promise<Delivery> {
    const seq = this.allocateSeq();
    return this.deliver(seq, this.frameOf(msg, seq));
  }

  /** Any TYPE and payload under the next SEQ: for the frames a node never sends (unknown type, short payload). */
  sendRaw(type: number, payload: Uint8Array): Promise<Delivery> {
    const seq = this.allocateSeq();
    return this.deliver(seq, encodeFrame(seq, type, payload));
  }

  /**
   * Writes the frame and waits for its ACK, sending it again after ackMs or a NAK 1-3 (the frame
   * was damaged on the way), at most `retransmissions` times; a NAK 4 or 5 ends it at once, as the
   * node's link does. An ACK with a payload is not an ACK to the node's link, so not here either.
   */
  async deliver(seq: number, frame: Uint8Array): Promise<Delivery> {
    const budget = this.profile.timeouts.retransmissions + 1;
    for (let attempts = 1; attempts <= budget; attempts++) {
      const from = this.mark();
      this.write(frame);
      const answer = await this.waitFor((e) => (e.kind === 'ack' && e.seq === seq && e.payloadBytes === 0) || (e.kind === 'nak' && e.seq === seq), this.profile.timeouts.ackMs, from);
      if (answer?.kind === 'ack') {
        this.lastAckedSeq = seq;
        return { outcome: 'ack', seq, attempts };
      }
      if (answer?.kind === 'nak' && (answer.reason === NakReason.UNKNOWN_TYPE || answer.reason === NakReason.MALFORMED)) {
        return { outcome: 'refused', seq, attempts, reason: answer.reason };
      }
    }
    return { outcome: 'unanswered', seq, attempts: budget };
  }

  /** Bytes as they are, for a damaged frame or a repeat. */
  write(bytes: Uint8Array): void {
    if (this.gone !== undefined) throw this.goneError();
    this.port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /** The first event from `from` on that matches, waiting up to timeoutMs for it; undefined when none came. */
  waitFor<E extends LinkEvent>(match: (event: LinkEvent) => event is E, timeoutMs: number, from: number): Promise<E | undefined>;
  waitFor(match: (event: LinkEvent) => boolean, timeoutMs: number, from: number): Promise<LinkEvent | undefined>;
  waitFor(match: (event: LinkEvent) => boolean, timeoutMs: number, from: number): Promise<LinkEvent | undefined> {
    const found = this.events.slice(from).find(match);
    if (found !== undefined) return Promise.resolve(found);
    if (this.gone !== undefined) return Promise.reject(this.goneError());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        from,
        match,
        resolve: (event) => {
          clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          resolve(event);
        },
        reject: (error) => {
          clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          reject(error);
        },
        timer: setTimeout(() => waiter.resolve(undefined), timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Messages taken from `from` on. */
  messagesSince(from: number): DataMessage[] {
    return this.events.slice(from).flatMap((e) => (e.kind === 'message' ? [e.msg] : []));
  }

  /** Waits without waiting on anything: the quiet window a case gives a reader to do what it must not. */
  async settle(ms: number): Promise<void> {
    await this.waitFor(() => false, ms, this.mark());
  }

  private receive(chunk: Buffer): void {
    for (const event of this.decoder.push(chunk)) {
      if (event.kind === 'error') this.onDamaged(event.error, event.seq);
      else this.onFrame(event.seq, event.type, event.payload);
    }
  }

  private onFrame(seq: number, type: number, payload: Uint8Array): void {
    const atMs = performance.now();
    this.damagedNakAtMs = undefined;
    if (type === MessageType.ACK) {
      this.push({ kind: 'ack', atMs, seq, payloadBytes: payload.length });
      return;
    }
    if (type === MessageType.NAK) {
      this.push({ kind: 'nak', atMs, seq, reason: payload.length === 1 ? payload[0] : undefined });
      return;
    }
    let msg: DataMessage;
    try {
      msg = decodeMessage(type, payload) as DataMessage;
    } catch (error) {
      if (!isProtocolError(error)) throw error;
      const nakReason = error.code === 'EDGEPAY_FRAME_UNKNOWN_TYPE' ? NakReason.UNKNOWN_TYPE : NakReason.MALFORMED;
      this.control(MessageType.NAK, seq, nakReason);
      // The decoder's message names the field and the problem, never the bytes.
      this.push({ kind: 'refused', atMs, seq, type, nakReason, problem: error.message });
      return;
    }
    const duplicate = seq === this.lastAcceptedRxSeq;
    this.lastAcceptedRxSeq = seq;
    this.control(MessageType.ACK, seq);
    this.push(duplicate ? { kind: 'duplicate', atMs, seq, type } : { kind: 'message', atMs, seq, msg });
  }

  /** NAKed only when the SEQ could be read, and once per ackMs, as PROTOCOL.md 3.2 asks of a receiver. */
  private onDamaged(error: DecoderErrorKind, seq: number | undefined): void {
    const atMs = performance.now();
    this.push({ kind: 'damaged', atMs, error, seq });
    if (seq === undefined || (this.damagedNakAtMs !== undefined && atMs - this.damagedNakAtMs < this.profile.timeouts.ackMs)) return;
    this.damagedNakAtMs = atMs;
    this.control(MessageType.NAK, seq, error === 'bad_crc' ? NakReason.BAD_CRC : NakReason.BAD_END);
  }

  private control(type: number, seq: number, reason?: number): void {
    if (this.gone !== undefined) return;
    this.write(encodeFrame(seq, type, reason === undefined ? new Uint8Array(0) : Uint8Array.of(reason)));
  }

  private push(event: LinkEvent): void {
    this.events.push(event);
    const index = this.events.length - 1;
    for (const waiter of [...this.waiters]) if (index >= waiter.from && waiter.match(event)) waiter.resolve(event);
  }

  private lineGone(reason: string): void {
    if (this.gone !== undefined) return;
    this.gone = reason;
    for (const waiter of [...this.waiters]) waiter.reject(this.goneError());
  }

  private goneError(): ConformanceError {
    return new ConformanceError('EDGEPAY_CONFORMANCE_LINE_GONE', `the serial line ended: ${this.gone ?? 'closed'}`, { reason: this.gone });
  }
}
