// The worker-side module alone: the package index would load pino and prom-client into every actor thread.
import { runActor } from '../../actors/worker-runtime.js';
import { CardCapturePool } from '../../card/capture-pool.js';
import { loadCardKeys } from '../../card/keys.js';
import { type NodeActorCall, callsFrom } from '../actor-directory.js';
import { type DecisionPathOptions, decideDurably, decisionPathOptions } from '../durable-decision.js';
import type { AuthorizerInit, AuthorizerReply, AuthorizerRequest } from './authorizer-protocol.js';

/*
 * The authorizer actor: the front door for payments whose card arrives as read (card data keyed
 * in, or a reader the node does not drive itself). It turns the card into card facts on the
 * capture pool, so the PAN goes no further (P7), then takes the durable decision. Lanes with
 * their own reader actor capture the card in that actor and skip this hop.
 */
interface AuthorizerState {
  readonly pool: DeferredPool;
  readonly path: DecisionPathOptions;
  readonly call: NodeActorCall;
}

/*
 * The pool's thread boots a moment after this actor starts, not with it: booting a thread is
 * ~100 ms of CPU, and while a node starts every core goes to the actors on the way to its first
 * decision, which in a store with readers never comes through here. A payment arriving earlier
 * boots the pool at once.
 */
const POOL_BOOT_DELAY_MS = 1_500;

class DeferredPool {
  private pool: CardCapturePool | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly create: () => CardCapturePool) {
    this.timer = setTimeout(() => this.get(), POOL_BOOT_DELAY_MS);
    this.timer.unref();
  }

  get(): CardCapturePool {
    clearTimeout(this.timer);
    this.pool ??= this.create();
    return this.pool;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.pool?.close();
  }
}

runActor<AuthorizerRequest, AuthorizerReply, AuthorizerInit, AuthorizerState>({
  maxConcurrent: 4_096,
  init({ config }, ctx) {
    // Read now, so a missing or bad key file fails this actor's start, not a payment later.
    const keys = loadCardKeys(config.keys);
    return {
      path: decisionPathOptions(config),
      pool: new DeferredPool(() => new CardCapturePool({ keys, threads: config.capture.threads, maxQueue: config.capture.maxQueue })),
      call: callsFrom(ctx),
    };
  },
  async handle(message, _ctx, { pool, path, call }) {
    if (message.type === 'follow-up') return decideDurably(call, { type: 'follow-up', request: message.request }, path);
    const { card, ...payment } = message.payment;
    const facts = await pool.get().capture(card);
    return decideDurably(call, { type: 'authorize', request: { ...payment, card: facts } }, path);
  },
  async terminate(_ctx, state) {
    await state?.pool.close();
  },
});
