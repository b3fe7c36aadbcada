/**
 * Any breach of the link and message rules a case sees fails it, whatever the case is about
 * (PROTOCOL.md's conformance section): a payload off its layout, an ACK with a payload, a NAK
 * with no defined reason, a message only a node sends. A frame of a TYPE the runner does not know
 * is not among them: a newer reader may try a newer message, which is what NAK 4 is for.
 */
import { NakReason } from '../protocol/index.js';
import { typeHex } from './describe.js';
import type { LinkEvent } from './tester-link.js';

const NODE_ONLY = new Set(['START_TXN', 'SHOW_RESULT', 'CANCEL', 'STATUS_REQUEST', 'AUTH_CHALLENGE']);
const NAK_REASONS = new Set<number>(Object.values(NakReason));

/** The first breach among these events, as a reason; undefined when there is none. */
export function linkRuleBreach(events: readonly LinkEvent[]): string | undefined {
  for (const e of events) {
    if (e.kind === 'refused' && e.nakReason === NakReason.MALFORMED) return `the reader sent a frame of TYPE ${typeHex(e.type)} off its layout (NAKed with 5): ${e.problem}`;
    if (e.kind === 'ack' && e.payloadBytes > 0) return `the reader sent an ACK for SEQ ${e.seq} with ${e.payloadBytes} payload byte(s); an ACK is empty`;
    if (e.kind === 'nak' && (e.reason === undefined || !NAK_REASONS.has(e.reason))) return `the reader sent a NAK for SEQ ${e.seq} with reason ${e.reason ?? 'missing'}, which is not 1-5`;
    if (e.kind === 'message' && NODE_ONLY.has(e.msg.kind)) return `the reader sent ${e.msg.kind}, which only a node sends`;
  }
  return undefined;
}
