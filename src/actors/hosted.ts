/*
 * The hand-off between a spare thread's host (thread-host.ts) and the runtime of the actor module
 * it then imports. Both import this module by the same URL, so they share one instance per thread.
 */
import type { ActorWorkerData } from './protocol.js';

let assigned: ActorWorkerData | undefined;
let claimed = false;

export function assignActor(data: ActorWorkerData): void {
  assigned = data;
}

/** The data a host assigned, if this thread is a spare; runActor falls back to workerData. */
export function claimAssignment(): ActorWorkerData | undefined {
  claimed = true;
  return assigned;
}

/** Whether the imported module called runActor(): a module that does not can never become ready. */
export function wasClaimed(): boolean {
  return claimed;
}
