import type { KeyObject } from 'node:crypto';
import { type AnswerScope, type SignedCentreAnswer, verifyAnswerSignature } from '../central/answer-signature.js';
import type { ForwardBatch } from '../central/batch.js';
import type { OnlineRequest } from '../central/online.js';

/*
 * Whether a node believes an answer that came back on its `centre` topic. Anyone holding a broker
 * password that may write that topic (the node's own, for one) can publish there, so the topic
 * proves nothing: an answer counts only if the centre's pinned key signed it, it answers exactly
 * what this node asked under that correlation id, and it has not expired. Anything else is
 * treated as no answer at all: the node keeps waiting, and then does what it does when the centre
 * is silent (decides offline and reverses; sends the batch again).
 */

export const ANSWER_REJECT_REASONS = [
  /** Too large, not JSON, or not a signed answer of the current version. */
  'malformed',
  /** Well formed, but nothing is waiting under its correlation id: late, a replay, or a guess. */
  'unsolicited',
  /** Does not verify with the centre's key: forged, altered, or signed for another store. */
  'bad_signature',
  /** Signed by the centre, but for another node, payment or batch than the one asked under that id. */
  'mismatch',
  /** Signed and matching, but past its expiry. */
  'expired',
] as const;
export type AnswerRejectReason = (typeof ANSWER_REJECT_REASONS)[number];

/** What the node asked under one correlation id, as it keeps it until the answer. */
export type Asked =
  | { readonly kind: 'online'; readonly request: OnlineRequest }
  | { readonly kind: 'reversal'; readonly idempotencyKey: string }
  | { readonly kind: 'batch'; readonly batch: ForwardBatch }
  | { readonly kind: 'report'; readonly origin: string };

/** The node's own place in the fleet: the answer must be for it. */
export interface AnswerAddressee extends AnswerScope {
  readonly node: string;
}

export type AnswerVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: Exclude<AnswerRejectReason, 'malformed' | 'unsolicited'>; readonly detail: string };

/** In order of what each check proves: the signature first, so a forgery is counted as one whatever it claims. */
export function checkAnswer(answer: SignedCentreAnswer, asked: Asked, to: AnswerAddressee, centreKey: KeyObject, nowMs: number): AnswerVerdict {
  if (!verifyAnswerSignature(to, answer, centreKey)) return { ok: false, reason: 'bad_signature', detail: `answer ${answer.correlationId} does not verify with the centre's key` };
  const mismatch = mismatchOf(answer, asked, to.node);
  if (mismatch !== undefined) return { ok: false, reason: 'mismatch', detail: `answer ${answer.correlationId}: ${mismatch}` };
  if (answer.expiresMs <= nowMs) return { ok: false, reason: 'expired', detail: `answer ${answer.correlationId} expired ${nowMs - answer.expiresMs} ms ago` };
  return { ok: true };
}

/** What differs between the answer and the question, or undefined. */
function mismatchOf(answer: SignedCentreAnswer, asked: Asked, node: string): string | undefined {
  if (answer.node !== node) return `for node ${answer.node}, not ${node}`;
  switch (asked.kind) {
    case 'online': {
      if (answer.kind !== 'online') return `a ${answer.kind} answer to an online authorization`;
      const { request } = asked;
      for (const field of ['idempotencyKey', 'amountMinor', 'currency', 'cardToken'] as const) {
        if (answer.asked[field] !== request[field]) return `answers another ${field} than the one asked`;
      }
      return undefined;
    }
    case 'reversal':
      if (answer.kind !== 'reversal') return `a ${answer.kind} answer to a reversal`;
      return answer.idempotencyKey === asked.idempotencyKey ? undefined : 'reverses another key than the one asked';
    case 'batch': {
      if (answer.kind !== 'batch') return `a ${answer.kind} answer to a batch`;
      const { batch } = asked;
      const { answer: outcome } = answer;
      if (outcome.batchId !== batch.batchId || outcome.origin !== batch.origin) return `answers batch ${outcome.batchId} of ${outcome.origin}, not ${batch.batchId} of ${batch.origin}`;
      if (!outcome.ok) return undefined;
      // One outcome per entry sent, in order: an outcome for an entry not sent would mark it forwarded.
      if (outcome.outcomes.length !== batch.entries.length || outcome.outcomes.some((o, i) => o.seq !== batch.entries[i]!.seq)) {
        return `${outcome.outcomes.length} outcomes for the ${batch.entries.length} entries sent, or not theirs`;
      }
      return undefined;
    }
    case 'report':
      if (answer.kind !== 'report') return `a ${answer.kind} answer to a report request`;
      // Another origin's totals would make this node's journal look matched (or not) against the wrong ledger rows.
      if (answer.origin !== asked.origin || (answer.report !== null && answer.report.origin !== asked.origin)) return `reports on ${answer.report?.origin ?? answer.origin}, not ${asked.origin}`;
      return undefined;
  }
}
