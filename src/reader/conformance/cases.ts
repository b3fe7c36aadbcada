/**
 * C1–C11: what every reader must do (PROTOCOL.md's conformance list). Each case tests one
 * property; the transaction cases check the card data's terms only in C8, so a reader with one
 * fault fails the one case that names it.
 */
import {
  MAX_PAYLOAD,
  MIN_READER_MAX_PAYLOAD,
  MessageType,
  NakReason,
  PROTOCOL_VERSION,
  ReaderState,
  type StatusMessage,
  TxnEndReason,
  type TxnEndedMessage,
  FrameDecoder,
  encodeFrame,
  encodeMessage,
} from '../protocol/index.js';
import type { ConformanceCase } from './case.js';
import { checkTerms, parseCardTlv } from './card-checks.js';
import type { CaseContext } from './context.js';
import { describeDelivery, describeMessage, describeSince, endReasonName, stateName, typeHex } from './describe.js';
import { fail } from './errors.js';
import { helloExchange } from './session.js';
import type { TesterLink } from './tester-link.js';

/** A TYPE no revision of the protocol defines. */
export const UNKNOWN_TYPE = 0x3f;
/** START_TXN cut after its txnId and two bytes of the amount: 6 of its 16 bytes. */
const SHORT_START_TXN_BYTES = 6;

const isStatus = (m: { kind: string }): m is StatusMessage => m.kind === 'STATUS';
const endedOf =
  (txnId: number) =>
  (m: { kind: string; txnId?: number }): m is TxnEndedMessage =>
    m.kind === 'TXN_ENDED' && m.txnId === txnId;

async function statusAnswer(ctx: CaseContext, what: string): Promise<StatusMessage> {
  const from = ctx.link.mark();
  await ctx.expectAck({ kind: 'STATUS_REQUEST' }, what);
  return ctx.expectMessage(isStatus, from, `STATUS after ${what}`);
}

/**
 * STATUS_REQUEST and a copy with a damaged CRC that leaves a decoder holding nothing once it is
 * rejected. Without byte stuffing, an STX inside the rejected bytes followed by an in-range length
 * makes a decoder wait for later bytes (PROTOCOL.md 13.1's stalled candidate, a known limit of version
 * 1.1): the intact frame would then only get through after retransmissions, which is not what C5
 * tests. The protocol's own decoder judges each candidate; skipping SEQs is allowed, since a frame
 * is new whenever its SEQ differs from the last one taken.
 */
function damagedStatusRequest(link: TesterLink): { seq: number; frame: Uint8Array; damaged: Uint8Array } {
  for (let tries = 0; ; tries++) {
    const seq = link.allocateSeq();
    const frame = link.frameOf({ kind: 'STATUS_REQUEST' }, seq);
    // The frame ends CRC-hi, CRC-lo, ETX: either CRC byte, flipped whole.
    for (const at of [frame.length - 3, frame.length - 2]) {
      const damaged = frame.slice();
      damaged[at] = (damaged[at] as number) ^ 0xff;
      const probe = new FrameDecoder();
      probe.push(damaged);
      if (probe.bufferedBytes === 0 || tries === 0xff) return { seq, frame, damaged };
    }
  }
}

const hello: ConformanceCase = {
  id: 'C1',
  secure: false,
  ownSession: true,
  async run(ctx) {
    const outcome = await helloExchange(ctx.link, ctx.profile, 1);
    if (!outcome.ok) fail(outcome.why);
    ctx.hello = outcome.hello;
    const { protocolVersion, maxPayload } = outcome.hello;
    // model and firmwareVersion: the decoder has refused (and the exchange failed on) anything but ASCII of at most 32 bytes.
    if (protocolVersion !== PROTOCOL_VERSION) fail(`expected HELLO protocolVersion ${PROTOCOL_VERSION}, got ${protocolVersion}`);
    if (maxPayload < MIN_READER_MAX_PAYLOAD || maxPayload > MAX_PAYLOAD) fail(`expected HELLO maxPayload ${MIN_READER_MAX_PAYLOAD}..${MAX_PAYLOAD}, got ${maxPayload}`);
  },
};

const ack: ConformanceCase = {
  id: 'C2',
  secure: false,
  async run(ctx) {
    const { link } = ctx;
    const from = link.mark();
    const ours = new Set<number>();
    for (let i = 1; i <= 3; i++) {
      const at = link.mark();
      ours.add((await ctx.expectAck({ kind: 'STATUS_REQUEST' }, `STATUS_REQUEST ${i} of 3`)).seq);
      await ctx.expectMessage(isStatus, at, `STATUS after STATUS_REQUEST ${i} of 3`);
    }
    // Link control is never acknowledged: an ACK and a NAK naming no frame the reader has outstanding are ignored.
    const readerSeqs = link.events.slice(from).flatMap((e) => (e.kind === 'message' ? [e.seq] : []));
    const base = readerSeqs.at(-1) ?? 0;
    const control = { ack: (base + 85) & 0xff, nak: (base + 170) & 0xff };
    link.write(encodeFrame(control.ack, MessageType.ACK, new Uint8Array(0)));
    link.write(encodeFrame(control.nak, MessageType.NAK, Uint8Array.of(NakReason.BAD_CRC)));
    await link.settle(ctx.quietMs);
    for (const e of link.events.slice(from)) {
      if (e.kind === 'ack' && e.payloadBytes > 0) fail(`expected an empty ACK, got an ACK for SEQ ${e.seq} with ${e.payloadBytes} payload byte(s)`);
      if (e.kind === 'ack' && (e.seq === control.ack || e.seq === control.nak)) fail(`expected the node's ${e.seq === control.ack ? 'ACK' : 'NAK'} (SEQ ${e.seq}) not to be acknowledged, got an ACK for it`);
      if (e.kind === 'ack' && !ours.has(e.seq)) fail(`expected ACKs only for the node's frames (SEQ ${[...ours].join(', ')}), got an ACK for SEQ ${e.seq}`);
      if (e.kind === 'nak') fail(`expected no NAK (nothing the node sent was damaged), got NAK reason ${e.reason ?? 'missing'} for SEQ ${e.seq}`);
    }
  },
};

const status: ConformanceCase = {
  id: 'C3',
  secure: false,
  async run(ctx) {
    const answer = await statusAnswer(ctx, 'STATUS_REQUEST');
    if (answer.state !== ReaderState.IDLE) fail(`expected STATUS state ${stateName(ReaderState.IDLE)} with no transaction running, got state ${stateName(answer.state)}`);
  },
};

const duplicate: ConformanceCase = {
  id: 'C4',
  secure: false,
  async run(ctx) {
    const { link } = ctx;
    const seq = link.allocateSeq();
    const frame = link.frameOf({ kind: 'STATUS_REQUEST' }, seq);
    const from = link.mark();
    const first = await link.deliver(seq, frame);
    if (first.outcome !== 'ack') fail(`expected an ACK for STATUS_REQUEST (SEQ ${seq}), got ${describeDelivery(first)}`);
    await ctx.expectMessage(isStatus, from, 'STATUS after STATUS_REQUEST');
    const again = await link.deliver(seq, frame);
    if (again.outcome !== 'ack') fail(`expected the same frame sent again (SEQ ${seq}) to be acknowledged again, got ${describeDelivery(again)}`);
    // The barrier's STATUS comes after any the repeat caused: a reader handles frames in order.
    await ctx.barrier();
    const answers = link.messagesSince(from).filter(isStatus).length - 1;
    if (answers !== 1) fail(`expected one STATUS for a STATUS_REQUEST sent twice under SEQ ${seq}, got ${answers}`);
  },
};

const badCrc: ConformanceCase = {
  id: 'C5',
  secure: false,
  async run(ctx) {
    const { link } = ctx;
    const { seq, frame, damaged } = damagedStatusRequest(link);
    const from = link.mark();
    link.write(damaged);
    await link.settle(ctx.quietMs);
    for (const e of link.events.slice(from)) {
      if (e.kind === 'ack' && e.seq === seq) fail(`expected no ACK for a frame with a damaged CRC (SEQ ${seq}), got an ACK`);
      if (e.kind === 'nak' && e.seq !== seq) fail(`expected a NAK for the damaged frame to carry its SEQ ${seq}, got NAK for SEQ ${e.seq}`);
      if (e.kind === 'nak' && e.reason !== NakReason.BAD_CRC) fail(`expected NAK reason 1 (bad CRC) for the damaged frame (SEQ ${seq}), got reason ${e.reason ?? 'missing'}`);
      if (e.kind === 'message' && e.msg.kind === 'STATUS') fail(`expected the damaged STATUS_REQUEST (SEQ ${seq}) not to be processed, came STATUS`);
    }
    const intact = await link.deliver(seq, frame);
    if (intact.outcome !== 'ack') fail(`expected an ACK for the intact frame with the same SEQ ${seq}, got ${describeDelivery(intact)}`);
    await ctx.barrier();
    const answers = link.messagesSince(from).filter(isStatus).length - 1;
    if (answers !== 1) fail(`expected one STATUS for the intact STATUS_REQUEST (SEQ ${seq}) after the damaged one, got ${answers}`);
  },
};

const unknownType: ConformanceCase = {
  id: 'C6',
  secure: false,
  async run(ctx) {
    const { link } = ctx;
    const from = link.mark();
    const delivery = await link.sendRaw(UNKNOWN_TYPE, Uint8Array.of(0x00, 0x01));
    const expected = `expected NAK reason 4 (unknown type) for a frame of TYPE ${typeHex(UNKNOWN_TYPE)} (SEQ ${delivery.seq})`;
    if (delivery.outcome === 'ack') fail(`${expected}, got an ACK`);
    if (delivery.outcome === 'unanswered') fail(`${expected}, got no ACK or NAK for it after ${delivery.attempts} attempt(s); ${describeSince(link.events, from)}`);
    if (delivery.reason !== NakReason.UNKNOWN_TYPE) fail(`${expected}, got ${describeDelivery(delivery)}`);
    await statusAnswer(ctx, 'STATUS_REQUEST after the NAK (the link stays up)');
  },
};

const malformed: ConformanceCase = {
  id: 'C7',
  secure: false,
  async run(ctx) {
    const { link } = ctx;
    const txn = ctx.newTxn(707n);
    const short = encodeMessage(txn).payload.subarray(0, SHORT_START_TXN_BYTES);
    ctx.track(txn.txnId);
    const from = link.mark();
    const delivery = await link.sendRaw(MessageType.START_TXN, short);
    const expected = `expected NAK reason 5 (malformed payload) for a START_TXN of ${short.length} bytes (SEQ ${delivery.seq})`;
    if (delivery.outcome === 'ack') fail(`${expected}, got an ACK`);
    if (delivery.outcome === 'unanswered') fail(`${expected}, got no ACK or NAK for it after ${delivery.attempts} attempt(s)`);
    if (delivery.reason !== NakReason.MALFORMED) fail(`${expected}, got ${describeDelivery(delivery)}`);
    const after = await ctx.barrier();
    const started = link.messagesSince(from).find((m) => (m.kind === 'CARD_DATA' || m.kind === 'SEALED_CARD' || m.kind === 'TXN_ENDED') && m.txnId === txn.txnId);
    if (started !== undefined) fail(`expected no transaction from the short START_TXN (txnId ${txn.txnId}), came ${describeMessage(started)}`);
    if (after.state !== ReaderState.IDLE) fail(`expected no transaction from the short START_TXN: STATUS state ${stateName(ReaderState.IDLE)}, got state ${stateName(after.state)}`);
  },
};

const transaction: ConformanceCase = {
  id: 'C8',
  secure: false,
  async run(ctx) {
    const session = await ctx.openCardSession();
    const txn = ctx.newTxn(1208n);
    const from = ctx.link.mark();
    await ctx.startTxn(txn);
    const card = await ctx.expectCard(txn, from, session);
    const what = `${card.kind} txnId ${card.txnId}`;
    checkTerms(parseCardTlv(what, card.tlv), what, txn);
    const shown = ctx.link.mark();
    await ctx.expectAck({ kind: 'SHOW_RESULT', txnId: txn.txnId, approved: true, code: 'Y1', text: 'conformance test' }, `SHOW_RESULT txnId ${txn.txnId}`);
    const expected = `TXN_ENDED txnId ${txn.txnId} reason ${endReasonName(TxnEndReason.RESULT_SHOWN)}`;
    const ended = await ctx.expectMessage(endedOf(txn.txnId), shown, expected);
    if (ended.reason !== TxnEndReason.RESULT_SHOWN) fail(`expected ${expected} after SHOW_RESULT, got reason ${endReasonName(ended.reason)}`);
  },
};

const cancelAfterCard: ConformanceCase = {
  id: 'C9',
  secure: false,
  async run(ctx) {
    const session = await ctx.openCardSession();
    const txn = ctx.newTxn(909n);
    const from = ctx.link.mark();
    await ctx.startTxn(txn);
    await ctx.expectCard(txn, from, session);
    const cancelled = ctx.link.mark();
    await ctx.expectAck({ kind: 'CANCEL', txnId: txn.txnId }, `CANCEL txnId ${txn.txnId}`);
    const expected = `TXN_ENDED txnId ${txn.txnId} reason ${endReasonName(TxnEndReason.CANCELLED_BY_NODE)}`;
    const ended = await ctx.expectMessage(endedOf(txn.txnId), cancelled, expected);
    if (ended.reason !== TxnEndReason.CANCELLED_BY_NODE) fail(`expected ${expected} after CANCEL, got reason ${endReasonName(ended.reason)}`);
  },
};

const cancelUnknown: ConformanceCase = {
  id: 'C10',
  secure: false,
  async run(ctx) {
    const { link } = ctx;
    // A txnId this run never started.
    const txnId = ctx.newTxn(0n).txnId;
    const from = link.mark();
    await ctx.expectAck({ kind: 'CANCEL', txnId }, `CANCEL txnId ${txnId}, which is not running`);
    await ctx.expectAck({ kind: 'SHOW_RESULT', txnId, approved: false, code: 'Z3', text: 'conformance test' }, `SHOW_RESULT txnId ${txnId}, which is not running`);
    await ctx.barrier();
    const ended = link.messagesSince(from).find((m) => m.kind === 'TXN_ENDED');
    if (ended !== undefined) fail(`expected no TXN_ENDED after CANCEL and SHOW_RESULT for txnId ${txnId}, which was not running, came ${describeMessage(ended)}`);
  },
};

const supersede: ConformanceCase = {
  id: 'C11',
  secure: false,
  async run(ctx) {
    const { link } = ctx;
    const session = await ctx.openCardSession();
    const a = ctx.newTxn(1101n);
    const b = ctx.newTxn(1102n);
    const from = link.mark();
    await ctx.startTxn(a);
    await ctx.startTxn(b);
    // A's card data may have crossed START_TXN B on the line; once B is acknowledged it must not come.
    const bAcknowledged = link.mark();
    await ctx.expectCard(b, from, session, 'ignore');
    await ctx.barrier();
    const late = link.messagesSince(bAcknowledged).find((m) => (m.kind === 'CARD_DATA' || m.kind === 'SEALED_CARD') && m.txnId === a.txnId);
    if (late !== undefined) fail(`expected only txnId ${b.txnId}'s card data once START_TXN ${b.txnId} was acknowledged, came ${describeMessage(late)} of the superseded txnId ${a.txnId}`);
    const endedA = link.messagesSince(from).find(endedOf(a.txnId));
    if (endedA !== undefined) fail(`expected no TXN_ENDED for the superseded txnId ${a.txnId}, came ${describeMessage(endedA)}`);
  },
};

export const CLEAR_CASES: readonly ConformanceCase[] = [hello, ack, status, duplicate, badCrc, unknownType, malformed, transaction, cancelAfterCard, cancelUnknown, supersede];
