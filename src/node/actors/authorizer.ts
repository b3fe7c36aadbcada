// The worker-side module alone: the package index would load pino and prom-client into every actor thread.
import { runActor } from '../../actors/worker-runtime.js';
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

runActor<AuthorizerRequest, AuthorizerReply, AuthorizerInit>({
  maxConcurrent: 4_096,
  init({ config }) {
    requestTimeoutMs = config.actors.requestTimeoutMs;
    pool = new CardCapturePool({ keys: loadCardKeys(config.keys), threads: config.capture.threads, maxQueue: config.capture.maxQueue });
  },
  async handle(message, ctx) {
    const ask = (request: JournalWriterRequest): Promise<Outcome> =>
      retryWhileRestarting((remainingMs) => ctx.call<Outcome>('journal-writer', request, { timeoutMs: remainingMs }), {
        deadlineMs: requestTimeoutMs,
      });
    if (message.type === 'follow-up') return ask({ type: 'follow-up', request: message.request });
    const { card, ...payment } = message.payment;
    const facts = await pool!.capture(card);
    return ask({ type: 'authorize', request: { ...payment, card: facts } });
  },
  async terminate() {
    await pool?.close();
  },
});
