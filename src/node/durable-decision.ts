import type { OnlineRequest } from '../central/online.js';
import { wasNotAsked } from '../reconcile/online-guard.js';
import type { AuthorizationRequest, Outcome } from '../standin/index.js';
import { ONLINE_CODES } from '../standin/requests.js';
import type { JournalWriterRequest } from './journal-writer-protocol.js';
import type { NodeActorCall } from './actor-directory.js';
import { retryWhileRestarting } from './retry.js';

/** The journal writer's requests that decide: a payment, or a void, refund or capture of one. */
export type DecisionRequest = Extract<JournalWriterRequest, { readonly type: 'authorize' | 'follow-up' }>;

export interface DecisionPathOptions {
  /** The whole decision, journal-writer restarts included, must be taken within this. */
  readonly requestTimeoutMs: number;
  /** Set when quorum acknowledgement is on: how long to wait for the store's peers. */
  readonly quorumTimeoutMs: number | undefined;
  /** Set when online authorization is on: how long to wait for the centre before deciding offline. */
  readonly online: { readonly timeoutMs: number; readonly origin: string; readonly store: string } | undefined;
}

/**
 * The durable half of every payment, wherever its card was captured (on the capture pool or in
 * the lane's reader actor): the journal writer decides and fsyncs; if it is being restarted it is
 * asked again with the same idempotency key until the deadline, so a decision recorded before a
 * crash comes back as it was and a restart can neither lose a decision nor take it twice.
 */
export async function decideDurably(call: NodeActorCall, request: DecisionRequest, options: DecisionPathOptions): Promise<Outcome> {
  if (request.type === 'authorize' && options.online !== undefined && request.request.online === undefined) {
    request = { type: 'authorize', request: await withOnlineDecision(call, request.request, options.online, options.requestTimeoutMs) };
  }
  const asked = request;
  const outcome = await retryWhileRestarting((remainingMs) => call('journal-writer', asked, remainingMs), { deadlineMs: options.requestTimeoutMs });
  if (asked.type === 'authorize') reverseIfOverridden(call, asked.request, outcome, options.online);
  return withQuorum(outcome, call, options.quorumTimeoutMs);
}

/**
 * Quorum acknowledgement: the decision is durable here already; with quorum on, it is answered
 * once a majority of the reachable peers hold it too, or local-only after the timeout (counted by
 * the replicator). A replicator that is down or restarting means local-only, never a failed payment.
 */
async function withQuorum(outcome: Outcome, call: NodeActorCall, quorumTimeoutMs: number | undefined): Promise<Outcome> {
  if (quorumTimeoutMs === undefined || outcome.entry === null || outcome.replayed) return outcome;
  const started = performance.now();
  try {
    const quorum = await call('replicator', { type: 'await-quorum', seq: outcome.entry.seq, timeoutMs: quorumTimeoutMs }, quorumTimeoutMs + 1_000);
    return { ...outcome, quorum };
  } catch {
    return { ...outcome, quorum: { reached: false, held: 0, reachable: 0, needed: 0, waitedMs: performance.now() - started } };
  }
}

/**
 * Online authorization while the link is up: the centre decides first, but only about a card
 * that passes the node's own card checks (currency, check digit, expiry, hot list). A card that
 * fails one is never sent: the journal writer declines it offline with that check's code. No
 * answer in time (link down, centre slow) means the offline rules decide, and the centre is told
 * to withdraw whatever it may have approved meanwhile. That reversal is best effort; the entry
 * forwarded later says the same thing durably (an offline decision supersedes an online approval
 * under the same key). While the centre is known to be unreachable the uplink does not ask it
 * (its circuit breaker), and the offline rules decide at once.
 */
async function withOnlineDecision(call: NodeActorCall, request: AuthorizationRequest, online: NonNullable<DecisionPathOptions['online']>, requestTimeoutMs: number): Promise<AuthorizationRequest> {
  // Asked of the journal writer because it holds the rules in force (a new hot list lands there).
  // An error here is the decision path failing, as it would for the decision itself: the centre is
  // not asked about a card nobody checked.
  const check = await retryWhileRestarting((remainingMs) => call('journal-writer', { type: 'check-card', request }, remainingMs), { deadlineMs: requestTimeoutMs });
  if (check.declined !== null) return request;
  const ask: OnlineRequest = {
    origin: online.origin,
    store: online.store,
    idempotencyKey: request.idempotencyKey,
    amountMinor: request.amountMinor,
    currency: request.currency,
    cardToken: request.card.token,
    expiryYear: request.card.expiryYear,
    expiryMonth: request.card.expiryMonth,
    checkDigitValid: request.card.checkDigitValid,
  };
  try {
    const decision = await call('uplink', { type: 'authorize', request: ask, timeoutMs: online.timeoutMs }, online.timeoutMs + 200);
    // The centre is known to be unreachable (the uplink's breaker is open): decided offline at once,
    // exactly as after a timeout; nothing was sent, so there is nothing to reverse.
    if (wasNotAsked(decision)) return request;
    if (isOnlineCode(decision.code)) return { ...request, online: { approved: decision.approved, code: decision.code, reason: decision.reason } };
  } catch {
    // Timed out or unreachable: decided offline below.
  }
  reverseOnline(call, online.origin, request.idempotencyKey);
  return request;
}

/**
 * The centre approved, but the journal writer recorded the node's own decline in its place (a
 * card check failed by the time it decided, e.g. a hot list that arrived meanwhile) or already
 * held an offline decision under the key: the approval is withdrawn at once rather than at the
 * next forward.
 */
function reverseIfOverridden(call: NodeActorCall, request: AuthorizationRequest, outcome: Outcome, online: DecisionPathOptions['online']): void {
  if (online === undefined || request.online?.approved !== true || outcome.entry === null || outcome.decision.mode === 'online') return;
  reverseOnline(call, online.origin, request.idempotencyKey);
}

function reverseOnline(call: NodeActorCall, origin: string, idempotencyKey: string): void {
  void call('uplink', { type: 'reverse', origin, idempotencyKey }, 10_000).catch(() => undefined);
}

function isOnlineCode(code: string): code is (typeof ONLINE_CODES)[number] {
  return (ONLINE_CODES as readonly string[]).includes(code);
}

/** The options above as a node's configuration sets them. */
export function decisionPathOptions(config: {
  readonly nodeId: string;
  readonly actors: { readonly requestTimeoutMs: number };
  readonly replication?: { readonly quorum: { readonly enabled: boolean; readonly timeoutMs: number } } | undefined;
  readonly centre?: { readonly store: string; readonly online: { readonly enabled: boolean; readonly timeoutMs: number } } | undefined;
}): DecisionPathOptions {
  return {
    requestTimeoutMs: config.actors.requestTimeoutMs,
    quorumTimeoutMs: config.replication?.quorum.enabled ? config.replication.quorum.timeoutMs : undefined,
    online: config.centre?.online.enabled ? { timeoutMs: config.centre.online.timeoutMs, origin: config.nodeId, store: config.centre.store } : undefined,
  };
}
