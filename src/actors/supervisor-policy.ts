import { type ChildExit, type RestartType, isCleanExit } from './child.js';

export type SupervisorStrategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

/** 'restarting' covers every moment without a live instance that will be restarted: stopping, backoff, starting. */
export type ChildState = 'running' | 'restarting' | 'stopped';

export function shouldRestart(restart: RestartType, exit: ChildExit): boolean {
  switch (restart) {
    case 'permanent':
      return true;
    case 'transient':
      return !isCleanExit(exit);
    case 'temporary':
      return false;
  }
}

export interface ScopeSlot {
  readonly restart: RestartType;
  readonly state: ChildState;
}

/** Which children a restart of one failed child takes with it, by spec index in ascending order. */
export interface RestartScope {
  /** Restarted together with the failed child (which is always included). */
  readonly restart: readonly number[];
  /** Stopped but not restarted: temporary siblings, which OTP never restarts even for a sibling's death. */
  readonly discard: readonly number[];
}

/**
 * Children already 'stopped' (a temporary child that ended, a transient one that finished) stay
 * stopped: a sibling's failure does not resurrect work that was already over.
 */
export function restartScope(strategy: SupervisorStrategy, slots: readonly ScopeSlot[], failedIndex: number): RestartScope {
  if (failedIndex < 0 || failedIndex >= slots.length) throw new RangeError(`no child at index ${failedIndex}`);
  const restart = [failedIndex];
  const discard: number[] = [];
  if (strategy === 'one_for_one') return { restart, discard };
  slots.forEach((slot, index) => {
    if (index === failedIndex || slot.state === 'stopped') return;
    if (strategy === 'rest_for_one' && index < failedIndex) return;
    (slot.restart === 'temporary' ? discard : restart).push(index);
  });
  restart.sort((a, b) => a - b);
  return { restart, discard };
}
