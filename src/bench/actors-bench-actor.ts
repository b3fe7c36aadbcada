/** The actor the bench drives: echoes its request, or crashes outside the request when asked to. */
import { runActor } from '../actors/worker-runtime.js';

export type BenchActorRequest = { readonly id: number; readonly body: number } | { readonly crash: true };

runActor<BenchActorRequest, unknown>({
  handle(request) {
    if ('crash' in request) {
      process.nextTick(() => {
        throw new Error('bench crash');
      });
      return 'crashing';
    }
    return request;
  },
});
