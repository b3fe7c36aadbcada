// The worker-side module alone: the package index would load pino and prom-client into every actor thread.
import { type ActorContext, runActor } from '../../actors/worker-runtime.js';
import { CardCapturePool } from '../../card/capture-pool.js';
import { loadCardKeys } from '../../card/keys.js';
import type { Outcome } from '../../standin/index.js';
import { retryWhileRestarting } from '../retry.js';
import type { AuthorizerInit, AuthorizerReply, AuthorizerRequest } from './authorizer-protocol.js';
import type { JournalWriterRequest } from './journal-writer-protocol.js';

/*
 * The authorizer actor: the front door for payments. It turns the card as read into card facts
 * on the capture pool (so the PAN goes no further, P7) and asks the journal writer for the
 * durable decision. If the journal writer is being restarted, it asks again with the same
 * idempotency key until the request deadline: a decision recorded before the crash comes back as
 * it was, so a restart can neither lose a decision nor take it twice.
 */
let pool: CardCapturePool | undefined;
let requestTimeoutMs = 5_000;
let quorumTimeoutMs: number | undefined;

runActor<AuthorizerRequest, AuthorizerReply, AuthorizerInit>({
  maxConcurrent: 4_096,
  init({ config }) {
    requestTimeoutMs = config.actors.requestTimeoutMs;
    quorumTimeoutMs = config.replication?.quorum.enabled ? config.replication.quorum.timeoutMs : undefined;
    pool = new CardCapturePool({ keys: loadCardKeys(config.keys), threads: config.capture.threads, maxQueue: config.capture.maxQueue });
  },
  async handle(message, ctx) {
    const ask = (request: JournalWriterRequest): Promise<Outcome> =>
      retryWhileRestarting((remainingMs) => ctx.call<Outcome>('journal-writer', request, { timeoutMs: remainingMs }), {
        deadlineMs: requestTimeoutMs,
      });
    if (message.type === 'follow-up') return withQuorum(await ask({ type: 'follow-up', request: message.request }), ctx);
    const { card, ...payment } = message.payment;
    const facts = await pool!.capture(card);
    return withQuorum(await ask({ type: 'authorize', request: { ...payment, card: facts } }), ctx);
  },
  async terminate() {
    await pool?.close();
  },
});

/**
 * Quorum acknowledgement: the decision is durable here already; with quorum on, it is answered
 * once a majority of the reachable peers hold it too, or local-only after the timeout (counted by
 * the replicator). A replicator that is down or restarting means local-only, never a failed payment.
 */
async function withQuorum(outcome: Outcome, ctx: ActorContext): Promise<Outcome> {
  if (quorumTimeoutMs === undefined || outcome.entry === null || outcome.replayed) return outcome;
  const started = performance.now();
  try {
    const quorum = await ctx.call<Outcome['quorum']>('replicator', { type: 'await-quorum', seq: outcome.entry.seq, timeoutMs: quorumTimeoutMs }, { timeoutMs: quorumTimeoutMs + 1_000 });
    return quorum ? { ...outcome, quorum } : outcome;
  } catch {
    return { ...outcome, quorum: { reached: false, held: 0, reachable: 0, needed: 0, waitedMs: performance.now() - started } };
  }
}
