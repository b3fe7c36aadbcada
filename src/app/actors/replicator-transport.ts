import type { ActorLog } from '../../actors/worker-runtime.js';
import type { NodeActorCall } from '../../node/actor-directory.js';
import { asBuffer, ownBytes } from '../../platform/thread-bytes.js';
import type { CentreTransport } from '../../reconcile/centre-transport.js';

/** One take waits this long for an answer; the replicator's drain at shutdown waits for it (≤ MAX_TAKE_WAIT_MS). */
const TAKE_WAIT_MS = 1_000;
/** On top of a call's own wait: two thread hops and a busy replicator. */
const CALL_MARGIN_MS = 2_000;
/** Between takes that failed (the replicator restarting): soon, but not a busy loop. */
const RETRY_AFTER_MS = 250;

/**
 * The centre link over the replicator's connection: the running node's one session at the broker
 * (centre-relay.ts). Requests are calls to the replicator; answers are taken from it in a loop of
 * waiting calls, so an answer reaches the link as soon as it arrives, whatever the uplink's own
 * handlers are waiting for. With the replicator restarting, a publish fails at once (the link
 * decides offline or sends the batch again) and the loop takes again when it is back.
 */
export function replicatorTransport(call: NodeActorCall, log: ActorLog): CentreTransport {
  let handler: ((payload: Buffer) => void) | undefined;
  let closed = false;
  let failing = false;

  const takeLoop = async (): Promise<void> => {
    while (!closed) {
      try {
        const { answers } = await call('replicator', { type: 'centre-answers', waitMs: TAKE_WAIT_MS }, TAKE_WAIT_MS + CALL_MARGIN_MS);
        failing = false;
        // Taken after close: the link is gone, and so is every request they could answer.
        if (!closed) for (const answer of answers) handler?.(asBuffer(answer));
      } catch (error) {
        if (!failing) log.warn({ err: error }, "cannot take the centre's answers from the replicator; trying again");
        failing = true;
        await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS));
      }
    }
  };

  return {
    publish: async (topic, payload, timeoutMs) => {
      if (closed) throw new Error('the link to the centre closed');
      await call('replicator', { type: 'centre-publish', topic, payload: ownBytes(payload) }, timeoutMs + CALL_MARGIN_MS);
    },
    onAnswer: (next) => {
      const first = handler === undefined;
      handler = next;
      if (first) void takeLoop();
    },
    close: async () => {
      // The take in flight ends within TAKE_WAIT_MS on its own; nothing here waits for it.
      closed = true;
    },
  };
}
