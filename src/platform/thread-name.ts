import { writeFileSync } from 'node:fs';

/** Linux keeps 15 bytes of a thread's name (TASK_COMM_LEN 16, with the terminating NUL). */
export const THREAD_NAME_BYTES = 15;

/** An actor thread booted ahead of need that no actor has taken yet (actors/spare-threads.ts). */
export const SPARE_THREAD_NAME = 'spare-actor';
/** A thread of the card capture pool (tokenize and seal). */
export const CAPTURE_THREAD_NAME = 'card-capture';
/** The main thread of `edgepay node run`: the supervisor, the lanes, the POS API and observability. */
export const NODE_MAIN_THREAD_NAME = 'edgepay-node';

/**
 * The name `top -H`, `ps -L` and /proc/<pid>/task/<tid>/comm show for an actor's thread: its id
 * ("journal-writer", "reader:lane-1"), cut to what the kernel keeps. Node names every thread
 * "node", so without this a thread that spins or grows cannot be told from the others.
 */
export function actorThreadName(actorId: string): string {
  return clip(actorId);
}

/**
 * Names the calling thread. /proc/thread-self is the calling OS thread, and synchronous fs calls
 * run on the calling thread (not libuv's pool), so a worker names itself with no native addon.
 * Best effort: a platform without procfs keeps Node's name, which costs diagnosis, never a payment.
 */
export function nameThisThread(name: string): boolean {
  try {
    writeFileSync('/proc/thread-self/comm', clip(name));
    return true;
  } catch {
    return false;
  }
}

function clip(name: string): string {
  const bytes = Buffer.from(name, 'utf8');
  return bytes.length <= THREAD_NAME_BYTES
    ? name
    : bytes
        .subarray(0, THREAD_NAME_BYTES)
        .toString('utf8')
        .replace(/\uFFFD+$/, '');
}
