// The worker-side module alone: the package index would load pino and prom-client into every actor thread.
import { runActor } from '../../actors/worker-runtime.js';
import { CardCapturePool } from '../../card/capture-pool.js';
import { loadCardKeys } from '../../card/keys.js';
import { type NodeActorCall, callsFrom } from '../../node/actor-directory.js';
import { type DecisionPathOptions, decideDurably, decisionPathOptions } from '../../node/durable-decision.js';
import type { IntakeInit, IntakeReply, IntakeRequest } from '../../node/intake-protocol.js';

/*
 * The intake actor: the front door for payments whose card arrives as read (card data keyed
 * in, or a reader the node does not drive itself). It turns the card into card facts on the
 * capture pool, so the PAN goes no further (P7), then takes the durable decision. Lanes with
 * their own reader actor capture the card in that actor and skip this hop.
 */
interface IntakeState {
  readonly pool: DeferredPool;
  readonly path: DecisionPathOptions;
  readonly call: NodeActorCall;
}

/*
 * The pool's thread boots with the first payment that needs it, not with this actor: a store
 * whose lanes all have their own reader never sends one, and so never pays that thread's boot
 * (about 100 ms of CPU, while a starting node needs every core for its first decision) or its
 * memory (about 10 MiB). The first card arriving as read waits for the boot once.
 */
class DeferredPool {
  private pool: CardCapturePool | undefined;

  constructor(private readonly create: () => CardCapturePool) {}

  get(): CardCapturePool {
    this.pool ??= this.create();
    return this.pool;
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}

runActor<IntakeRequest, IntakeReply, IntakeInit, IntakeState>({
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
