/**
 * How the report names what came from the reader: the message kind and the fields a reason needs,
 * and never card data. CARD_DATA carries a PAN and track data in clear, so of it only the txnId and
 * the TLV's size are ever named; of SEALED_CARD only the txnId.
 */
import { type DataMessage, ReaderState, TxnEndReason, keyFingerprint } from '../protocol/index.js';
import type { Delivery, LinkEvent } from './tester-link.js';

const STATE_NAMES = nameMap(ReaderState);
const END_NAMES = nameMap(TxnEndReason);
const ERROR_TEXT_SHOWN = 80;

function nameMap(values: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(values).map(([name, code]) => [code, name.toLowerCase().replaceAll('_', ' ')]));
}

export function stateName(state: number): string {
  return `${state} (${STATE_NAMES.get(state) ?? 'undefined'})`;
}

export function endReasonName(reason: number): string {
  return `${reason} (${END_NAMES.get(reason) ?? 'undefined'})`;
}

export function typeHex(type: number): string {
  return `0x${type.toString(16).padStart(2, '0').toUpperCase()}`;
}

/** A reader's text, quoted and cut: it is the reader's to choose, so it is never trusted to be short. */
function quoted(text: string): string {
  return JSON.stringify(text.length > ERROR_TEXT_SHOWN ? `${text.slice(0, ERROR_TEXT_SHOWN)}…` : text);
}

export function describeMessage(msg: DataMessage): string {
  switch (msg.kind) {
    case 'HELLO':
      return `HELLO (version ${msg.protocolVersion}, model ${quoted(msg.model)})`;
    case 'STATUS':
      return `STATUS state ${stateName(msg.state)}`;
    case 'TXN_ENDED':
      return `TXN_ENDED txnId ${msg.txnId} reason ${endReasonName(msg.reason)}`;
    case 'ERROR':
      return `ERROR ${msg.code} ${quoted(msg.text)}`;
    case 'CARD_DATA':
      return `CARD_DATA txnId ${msg.txnId} (${msg.tlv.length} bytes of TLV)`;
    case 'SEALED_CARD':
      return `SEALED_CARD txnId ${msg.txnId}`;
    case 'AUTH_RESPONSE':
      return `AUTH_RESPONSE (reader key ${keyFingerprint(msg.readerKey)})`;
    case 'START_TXN':
    case 'SHOW_RESULT':
    case 'CANCEL':
      return `${msg.kind} txnId ${msg.txnId}, which a reader never sends`;
    default:
      return msg.kind;
  }
}

/** What came from `from` on, for a reason that says what came instead of what was expected. */
export function describeSince(events: readonly LinkEvent[], from: number, limit = 3): string {
  const seen = events.slice(from).flatMap((e) => {
    switch (e.kind) {
      case 'message':
        return [describeMessage(e.msg)];
      case 'refused':
        return [`a frame of TYPE ${typeHex(e.type)} the runner NAKed with ${e.nakReason} (${e.problem})`];
      case 'nak':
        return [`NAK reason ${e.reason ?? 'missing'} for SEQ ${e.seq}`];
      case 'damaged':
        return [`a damaged frame (${e.error})`];
      default:
        return [];
    }
  });
  if (seen.length === 0) return 'nothing came';
  const shown = seen.slice(0, limit).join(', ');
  return seen.length > limit ? `came ${shown} and ${seen.length - limit} more` : `came ${shown}`;
}

/** "no ACK after 4 attempts" and the like, for a frame that was to be acknowledged. */
export function describeDelivery(delivery: Delivery): string {
  switch (delivery.outcome) {
    case 'ack':
      return `ACK for SEQ ${delivery.seq}`;
    case 'refused':
      return `NAK reason ${delivery.reason} (${delivery.reason === 4 ? 'unknown type' : 'malformed payload'}) for SEQ ${delivery.seq}`;
    case 'unanswered':
      return `no ACK for SEQ ${delivery.seq} after ${delivery.attempts} attempt(s)`;
  }
}
