import type { ReaderProfile } from '../reader/profile.js';
import { EmvTag, type Message, SecureSizes, TxnEndReason, emvForCard, encodeFrame, encodeMessage, encodeTlv } from '../reader/protocol/index.js';
import { CardFactory, type SimCard } from '../reader/simulator/cards.js';
import { bitsPerByte, wireTimeMs } from '../reader/simulator/paced-channel.js';
import { roundTo } from './latency.js';

export interface WireFrame {
  readonly message: string;
  readonly from: 'node' | 'reader';
  readonly bytes: number;
  readonly wireMs: number;
}

export interface WireLeg {
  readonly frames: readonly WireFrame[];
  readonly bytes: number;
  readonly wireMs: number;
}

export interface LaneWire {
  readonly baudRate: number;
  readonly lineSettings: string;
  readonly bitsPerByte: number;
  /** START_TXN + ACK, CARD_DATA + ACK: the bytes a payment's answer waits for. */
  readonly criticalPath: WireLeg & { readonly note: string };
  /** SHOW_RESULT + ACK, TXN_ENDED + ACK: sent after the POS has its answer. */
  readonly afterAnswer: WireLeg & { readonly note: string };
  /** The whole exchange of one payment: no lane can take payments faster than this over its line. */
  readonly transaction: { readonly bytes: number; readonly wireMs: number; readonly maxPaymentsPerSec: number };
}

export interface LaneWireInput {
  readonly profile: ReaderProfile;
  readonly amountMinor: number;
  readonly currencyNumeric: number;
  /** The simulator's seed: its first card is the one measured, so the CARD_DATA here is byte for byte the size it sends. */
  readonly seed: number;
  /** The decision code the node showed, which sizes SHOW_RESULT. */
  readonly resultCode: string;
  /** A secure session: the card arrives as SEALED_CARD (token, sealed PAN, TLV without it, signature) instead of CARD_DATA. */
  readonly secure?: boolean;
}

/** A record over the profile's parity values, so a parity the schema starts to allow cannot go unnamed here. */
const PARITY_LETTER: Record<ReaderProfile['serial']['parity'], string> = { none: 'N' };

/**
 * The physical floor of one payment, from the very frames the codec puts on the line for this
 * amount and currency (CARD_DATA as the simulator builds it), at the profile's line settings.
 */
export function laneWire(input: LaneWireInput): LaneWire {
  const { profile } = input;
  const serial = profile.serial;
  const txnId = 1;
  // The reader actor's rounding of the card wait to whole seconds (reader-transactions.ts): the field's size is fixed anyway.
  const timeoutS = Math.min(0xffff, Math.ceil(profile.timeouts.cardWaitMs / 1000));
  const card = new CardFactory(input.seed).card('good') as SimCard;
  const tlv = encodeTlv(
    emvForCard({
      ...card,
      amountMinor: input.amountMinor,
      currencyNumeric: input.currencyNumeric,
      transactionDateYymmdd: new Date().toISOString().slice(2, 10).replaceAll('-', ''),
      atc: 1,
      unpredictableNumber: 0,
      ...(input.secure === true ? { omitTags: [EmvTag.PAN, EmvTag.TRACK2] } : {}),
    }),
  );
  const cardMessage: Message = input.secure === true ? sealedCardOfSize(txnId, card, tlv) : { kind: 'CARD_DATA', txnId, tlv };
  const frame = (from: WireFrame['from'], msg: Message): WireFrame => {
    const { type, payload } = encodeMessage(msg);
    const bytes = encodeFrame(0, type, payload).length;
    return { message: msg.kind, from, bytes, wireMs: roundTo(wireTimeMs(bytes, serial), 4) };
  };
  const critical = [
    frame('node', { kind: 'START_TXN', txnId, amountMinor: BigInt(input.amountMinor), currencyNumeric: input.currencyNumeric, timeoutS }),
    frame('reader', { kind: 'ACK' }),
    frame('reader', cardMessage),
    frame('node', { kind: 'ACK' }),
  ];
  const after = [
    frame('node', { kind: 'SHOW_RESULT', txnId, approved: true, code: input.resultCode, text: 'APPROVED' }),
    frame('reader', { kind: 'ACK' }),
    frame('reader', { kind: 'TXN_ENDED', txnId, reason: TxnEndReason.RESULT_SHOWN }),
    frame('node', { kind: 'ACK' }),
  ];
  const all = [...critical, ...after];
  const transactionWireMs = wireTimeMs(sumBytes(all), serial);
  return {
    baudRate: serial.baudRate,
    lineSettings: `${serial.dataBits}${PARITY_LETTER[serial.parity]}${serial.stopBits}`,
    bitsPerByte: bitsPerByte(serial),
    criticalPath: {
      ...leg(critical, serial),
      note:
        'the wire time the target is set against. The node ACKs CARD_DATA while it decides (the line is full duplex), ' +
        'so the answer strictly waits for three of these four frames; the fourth is counted, as a real reader would still be receiving it',
    },
    afterAnswer: {
      ...leg(after, serial),
      note: 'SHOW_RESULT goes to the reader after the HTTP answer (the display must not hold the POS up): not part of the round trip',
    },
    transaction: { bytes: sumBytes(all), wireMs: roundTo(transactionWireMs, 4), maxPaymentsPerSec: roundTo(1000 / transactionWireMs, 1) },
  };
}

/** A SEALED_CARD the size the simulator sends: the fields' contents do not change the wire time, their sizes do. */
function sealedCardOfSize(txnId: number, card: SimCard, tlv: Uint8Array): Message {
  const sealedPlain = JSON.stringify({ pan: card.pan, expiry: card.expiryYymm });
  return {
    kind: 'SEALED_CARD',
    txnId,
    token: new Uint8Array(SecureSizes.TOKEN),
    last4: card.pan.slice(-4),
    flags: 1,
    // libsodium's sealed box: a 32-byte ephemeral key and a 16-byte tag around the plaintext.
    sealed: new Uint8Array(48 + Buffer.byteLength(sealedPlain)),
    tlv,
    signature: new Uint8Array(SecureSizes.SIGNATURE),
  };
}

function leg(frames: readonly WireFrame[], serial: ReaderProfile['serial']): WireLeg {
  const bytes = sumBytes(frames);
  return { frames, bytes, wireMs: roundTo(wireTimeMs(bytes, serial), 4) };
}

function sumBytes(frames: readonly WireFrame[]): number {
  return frames.reduce((total, frame) => total + frame.bytes, 0);
}
