/*
 * The hand-off between a spare thread's host (thread-host.ts) and the runtime of the actor module
 * it then imports. Both import this module by the same URL, so they share one instance per thread.
 */
import type { ActorWorkerData } from './protocol.js';

let assigned: ActorWorkerData | undefined;
let claimed = false;
let preloading = false;
let startWhenAssigned: ((data: ActorWorkerData) => void) | undefined;

/** Gives the thread its actor; starts the runtime at once if a preloaded module is waiting for it. */
export function assignActor(data: ActorWorkerData): void {
  assigned = data;
  const start = startWhenAssigned;
  startWhenAssigned = undefined;
  start?.(data);
}

let onLoaded: (() => void) | undefined;

/**
 * The host imports its actor's module ahead of the assignment: runActor() must then wait for it.
 * `loaded` is called when the module reaches runActor(), before its actor's init can run.
 */
export function markPreloading(loaded: () => void): void {
  preloading = true;
  onLoaded = loaded;
}

/**
 * Called by runActor(): true when the module was imported ahead of its assignment, with `start`
 * kept to run once the assignment arrives; false when the actor can start now.
 */
export function deferUntilAssigned(start: (data: ActorWorkerData) => void): boolean {
  claimed = true;
  const loaded = onLoaded;
  onLoaded = undefined;
  loaded?.();
  if (!preloading || assigned !== undefined) return false;
  startWhenAssigned = start;
  return true;
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
