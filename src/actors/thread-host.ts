/**
 * The entry module of a spare thread (spare-threads.ts): it boots Node ahead of need, then waits
 * to be told which actor module to import. Booting is most of a restart's cost, so a restart that
 * takes a spare pays only for the import and init.
 */
import { parentPort } from 'node:worker_threads';
import { ActorError } from './errors.js';
import { assignActor, wasClaimed } from './hosted.js';
import type { FromWorker, HostAssignment } from './protocol.js';
import { toWireError } from './wire-error.js';
// Loaded while the spare is idle, so taking it leaves only the actor's own module to import.
import './worker-runtime.js';

const port = parentPort;
if (port === null) throw new ActorError('EDGEPAY_ACTOR_START_FAILED', 'thread-host must run as a worker thread');

port.once('message', (assignment: HostAssignment) => {
  assignActor(assignment.data);
  import(assignment.module).then(
    () => {
      if (!wasClaimed()) fail(new ActorError('EDGEPAY_ACTOR_START_FAILED', `module ${assignment.module} did not call runActor()`));
    },
    (error: unknown) => fail(error),
  );
});

function fail(error: unknown): void {
  port?.postMessage({ t: 'init-failed', error: toWireError(error) } satisfies FromWorker);
  process.exit(1);
}
