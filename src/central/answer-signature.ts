import { type KeyObject, sign, verify } from 'node:crypto';
import type { BatchAnswer } from './centre.js';
import type { OriginReport } from './ledger-backend.js';
import type { OnlineDecision } from './online.js';

/*
 * The centre signs every answer it sends a node (one Ed25519 signature per answer), and a node
 * believes an answer only if it verifies with the centre's pinned public key. The signature
 * covers the UTF-8 bytes of a JSON array (every implementation builds the same string):
 *
 *   ["edgepay/centre-answer/v1","online",fleet,store,node,correlationId,idempotencyKey,amountMinor,
 *     currency,cardToken,approved,code,reason,expiresMs]
 *   ["edgepay/centre-answer/v1","reversal",fleet,store,node,correlationId,idempotencyKey,expiresMs]
 *   ["edgepay/centre-answer/v1","batch",fleet,store,node,correlationId,origin,batchId,headSeq,true,
 *     [[seq,result,reason,merchantMinor],…],[count,[[currency,sumMinor],…by currency]],expiresMs]
 *   ["edgepay/centre-answer/v1","batch",fleet,store,node,correlationId,origin,batchId,headSeq,false,
 *     errorCode,errorMessage,expiresMs]
 *   ["edgepay/centre-answer/v1","report",fleet,store,node,correlationId,origin,true,reportOrigin,reportStore,headSeq,
 *     entries,settled,exceptions,recorded,[[currency,sumMinor],…],[[currency,merchantMinor],…],expiresMs]
 *   ["edgepay/centre-answer/v1","report",fleet,store,node,correlationId,origin,false,expiresMs]
 *
 * `node` is the node the answer is for (the requester: the topic's node). Binding it with what was
 * asked (the key, amount, currency and card token; the batch and every outcome) means a genuine
 * answer cannot be moved to another node, another payment or another batch; the correlation id
 * (unique per request) and the expiry keep an old answer from being replayed. The context string
 * and the kind keep these bytes from ever verifying as another edgepay signature or another kind
 * of answer. Fleet and store are not repeated in the message: each side takes them from its own
 * configuration, so an answer meant for another store simply does not verify.
 */

const ANSWER_SIGNATURE_CONTEXT = 'edgepay/centre-answer/v1';

/**
 * How long a signed answer is good for after the centre signs it. Far longer than any wait for an
 * answer needs (an online decision is waited for 300 ms by default, a batch 10 s), so ordinary
 * clock differences between centre and node (NTP keeps them within a second) never refuse a
 * genuine answer; short enough that a captured answer is useless long before anyone could reuse
 * it, even if a correlation id ever came round again. A node whose clock runs more than this
 * ahead of the centre's refuses every answer and decides offline: safe, and visible in its counts.
 */
export const ANSWER_VALIDITY_MS = 30_000;

/** Where the answer goes: the fleet and store of the node it answers. */
export interface AnswerScope {
  readonly fleet: string;
  readonly store: string;
}

/** The parts of an online request an answer is bound to. */
export interface OnlineAsked {
  readonly idempotencyKey: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly cardToken: string;
}

/** An answer as signed: what it says, whom it is for, and until when it holds. */
export type CentreAnswer =
  | { readonly kind: 'online'; readonly correlationId: string; readonly node: string; readonly asked: OnlineAsked; readonly online: OnlineDecision; readonly expiresMs: number }
  | { readonly kind: 'reversal'; readonly correlationId: string; readonly node: string; readonly idempotencyKey: string; readonly expiresMs: number }
  | { readonly kind: 'batch'; readonly correlationId: string; readonly node: string; readonly answer: BatchAnswer; readonly expiresMs: number }
  /** What the ledger holds of `origin` (null: nothing), for the node's reconciliation report. */
  | { readonly kind: 'report'; readonly correlationId: string; readonly node: string; readonly origin: string; readonly report: OriginReport | null; readonly expiresMs: number };

/** Per currency, sorted by currency: an object's key order is not something both sides can be held to. */
const byCurrency = (sums: Readonly<Record<string, number>>): unknown[] =>
  Object.keys(sums)
    .sort()
    .map((currency) => [currency, sums[currency]]);

/** An answer with the centre's signature: base64, 88 characters (64 bytes). */
export type SignedCentreAnswer = CentreAnswer & { readonly sig: string };

/** The exact bytes signed for an answer. */
export function answerSignedBytes(scope: AnswerScope, answer: CentreAnswer): Buffer {
  const head = [ANSWER_SIGNATURE_CONTEXT, answer.kind, scope.fleet, scope.store, answer.node, answer.correlationId];
  let body: unknown[];
  switch (answer.kind) {
    case 'online': {
      const { asked, online } = answer;
      body = [asked.idempotencyKey, asked.amountMinor, asked.currency, asked.cardToken, online.approved, online.code, online.reason];
      break;
    }
    case 'reversal':
      body = [answer.idempotencyKey];
      break;
    case 'batch': {
      const a = answer.answer;
      const common = [a.origin, a.batchId, a.headSeq, a.ok];
      body = a.ok ? [...common, a.outcomes.map((o) => [o.seq, o.result, o.reason, o.merchantMinor]), [a.totals.count, byCurrency(a.totals.sumsMinor)]] : [...common, a.error.code, a.error.message];
      break;
    }
    case 'report': {
      const r = answer.report;
      body = r === null ? [answer.origin, false] : [answer.origin, true, r.origin, r.store, r.headSeq, r.entries, r.settled, r.exceptions, r.recorded, byCurrency(r.sumsMinor), byCurrency(r.merchantMinor)];
      break;
    }
  }
  return Buffer.from(JSON.stringify([...head, ...body, answer.expiresMs]), 'utf8');
}

/** Signs an answer; `expiresMs` is the caller's (signing time plus ANSWER_VALIDITY_MS). */
export function signAnswer<A extends CentreAnswer>(scope: AnswerScope, answer: A, signingKey: KeyObject): A & { readonly sig: string } {
  return { ...answer, sig: sign(null, answerSignedBytes(scope, answer), signingKey).toString('base64') };
}

/** Whether the centre's key signed exactly this answer for this scope. Says nothing about whether it answers what was asked, or is still valid. */
export function verifyAnswerSignature(scope: AnswerScope, answer: SignedCentreAnswer, centreKey: KeyObject): boolean {
  const signature = Buffer.from(answer.sig, 'base64');
  if (signature.length !== 64) return false;
  try {
    return verify(null, answerSignedBytes(scope, answer), centreKey, signature);
  } catch {
    return false;
  }
}
