/**
 * The entry module of a spare thread (spare-threads.ts): it boots Node ahead of need, then waits
 * to be told which actor module to import. Booting is most of a restart's cost, so a restart that
 * takes a spare pays only for the import and init. A spare may also be told the module first
 * (preload): at a node's start each actor's module then loads while the actors before it in
 * the tree still start, one after another.
 */
import { parentPort } from 'node:worker_threads';
import { SPARE_THREAD_NAME, nameThisThread } from '../platform/thread-name.js';
import { ActorError } from './errors.js';
import { assignActor, markPreloading, wasClaimed } from './hosted.js';
import type { FromWorker, HostAssignment, HostPreload } from './protocol.js';
import { toWireError } from './wire-error.js';
// Loaded while the spare is idle, so taking it leaves only the actor's own module to import.
import './worker-runtime.js';

// Until it is given an actor (worker-runtime names it then), `top -H` shows it as a spare.
nameThisThread(SPARE_THREAD_NAME);
const port = parentPort;
if (port === null) throw new ActorError('EDGEPAY_ACTOR_START_FAILED', 'thread-host must run as a worker thread');

let preloaded: { readonly module: string; readonly loading: Promise<unknown> } | undefined;

const onMessage = (message: HostPreload | HostAssignment): void => {
  if (message.t === 'preload') {
    if (preloaded !== undefined) return;
    // Told once: when the module reaches runActor() (an actor whose init is synchronous starts in
    // the same turn), or when the import ends without it. A failure is reported at the assignment.
    let told = false;
    const loaded = (): void => {
      if (told) return;
      told = true;
      port.postMessage({ t: 'preloaded' } satisfies FromWorker);
    };
    markPreloading(loaded);
    preloaded = { module: message.module, loading: import(message.module) };
    preloaded.loading.then(loaded, loaded);
    return;
  }
  port.off('message', onMessage);
  if (preloaded !== undefined && preloaded.module !== message.module) {
    fail(new ActorError('EDGEPAY_ACTOR_START_FAILED', `spare thread preloaded ${preloaded.module}, not ${message.module}`));
    return;
  }
  let loading: Promise<unknown>;
  try {
    assignActor(message.data);
    loading = preloaded?.loading ?? import(message.module);
  } catch (error) {
    fail(error);
    return;
  }
  loading.then(
    () => {
      if (!wasClaimed()) fail(new ActorError('EDGEPAY_ACTOR_START_FAILED', `module ${message.module} did not call runActor()`));
    },
    (error: unknown) => fail(error),
  );
};
port.on('message', onMessage);

function fail(error: unknown): void {
  port?.postMessage({ t: 'init-failed', error: toWireError(error) } satisfies FromWorker);
  process.exit(1);
}
