/**
 * The HELLO exchange that starts every session (protocol 1.1), shared by the runner's own
 * connection, its reset between cases, and C1, which judges it.
 */
import { performance } from 'node:perf_hooks';
import type { ReaderProfile } from '../profile.js';
import { Capability, type HelloMessage, MessageType, PROTOCOL_REVISION, PROTOCOL_VERSION } from '../protocol/index.js';
import { describeDelivery, describeSince } from './describe.js';
import type { TesterLink } from './tester-link.js';

/** Beyond the link's ACK budget: the reader's time to answer (the node's own handshake allows the same). */
const ANSWER_MS = 500;

/**
 * ackMs × (retransmissions + 1) + 500 ms: what C1 allows for a HELLO answer, and the window the
 * runner gives every other answer too, since a reader answers them all the same way.
 */
export function answerWindowMs(profile: ReaderProfile): number {
  return profile.timeouts.ackMs * (profile.timeouts.retransmissions + 1) + ANSWER_MS;
}

/** The node's HELLO as protocol 1.1 has it: no card capabilities, the secure-session offer, the profile's maxPayload. */
export function nodeHello(profile: ReaderProfile): HelloMessage {
  return {
    kind: 'HELLO',
    protocolVersion: PROTOCOL_VERSION,
    capabilities: Capability.SECURE_SESSION,
    maxPayload: profile.framing.maxPayloadBytes,
    model: 'edgepay-node',
    firmwareVersion: PROTOCOL_REVISION,
  };
}

export type HelloOutcome = { readonly ok: true; readonly hello: HelloMessage; readonly ms: number } | { readonly ok: false; readonly why: string };

/**
 * Sends the node's HELLO and waits for the reader's. More than one attempt is for a line whose
 * reader still holds the SEQ of an earlier run: it takes the first HELLO for a duplicate and only
 * acknowledges it. After the answer the node's SEQ starts from 0, as a new session's does.
 */
export async function helloExchange(link: TesterLink, profile: ReaderProfile, attempts: number): Promise<HelloOutcome> {
  const windowMs = answerWindowMs(profile);
  let why = 'no attempt';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    link.forgetReaderSeq();
    const from = link.mark();
    const sentAt = performance.now();
    const delivery = await link.send(nodeHello(profile));
    if (delivery.outcome === 'refused') return { ok: false, why: `expected an ACK for the node's HELLO, got ${describeDelivery(delivery)}` };
    if (delivery.outcome === 'unanswered') {
      why = `expected an ACK for the node's HELLO, got ${describeDelivery(delivery)}`;
      continue;
    }
    const left = Math.max(0, windowMs - (performance.now() - sentAt));
    const answer = await link.waitFor((e) => (e.kind === 'message' && e.msg.kind === 'HELLO') || (e.kind === 'refused' && e.type === MessageType.HELLO), left, from);
    if (answer?.kind === 'refused') return { ok: false, why: `the reader's HELLO is malformed: ${answer.problem}` };
    if (answer?.kind === 'message' && answer.msg.kind === 'HELLO') {
      link.restartSeq();
      return { ok: true, hello: answer.msg, ms: Math.round(answer.atMs - sentAt) };
    }
    why = `expected a HELLO within ${windowMs} ms of the node's, ${describeSince(link.events, from)}`;
  }
  return { ok: false, why: attempts > 1 ? `HELLO sent ${attempts} times, the last: ${why}` : why };
}
