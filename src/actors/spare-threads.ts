import { type ResourceLimits, Worker } from 'node:worker_threads';
import { BadInputError } from '../errors.js';
import { moduleUrl } from './modules.js';

export interface SpareThreadsOptions {
  /** Idle threads kept per distinct resourceLimits (default 1). */
  readonly perLimits?: number;
  /** Distinct resourceLimits kept warm (default 8); others start cold. */
  readonly maxLimits?: number;
}

interface Spare {
  readonly worker: Worker;
  readonly onGone: () => void;
}

/**
 * Worker threads booted ahead of need: Node takes ~25 ms to boot a thread, most of a restart. A
 * spare runs thread-host.js and becomes whichever actor takes it. Idle spares are unref'd so they
 * never keep the process alive; resourceLimits are fixed when a thread is created, so spares are
 * kept per distinct limits.
 */
export class SpareThreads {
  private readonly perLimits: number;
  private readonly maxLimits: number;
  private readonly idle = new Map<string, Spare[]>();
  private closed = false;

  constructor(options: SpareThreadsOptions = {}) {
    this.perLimits = options.perLimits ?? 1;
    this.maxLimits = options.maxLimits ?? 8;
    const problems = [];
    if (!Number.isSafeInteger(this.perLimits) || this.perLimits < 0 || this.perLimits > 16) problems.push({ path: 'perLimits', message: 'must be a whole number from 0 to 16', value: this.perLimits });
    if (!Number.isSafeInteger(this.maxLimits) || this.maxLimits < 1 || this.maxLimits > 64) problems.push({ path: 'maxLimits', message: 'must be a whole number from 1 to 64', value: this.maxLimits });
    if (problems.length > 0) throw new BadInputError('spare threads options', problems);
  }

  /** A host thread for an actor: an idle spare when there is one, otherwise one booted now. */
  take(resourceLimits: ResourceLimits | undefined): Worker {
    const spare = this.idle.get(keyOf(resourceLimits))?.shift();
    if (spare === undefined) return spawnHost(resourceLimits);
    spare.worker.off('exit', spare.onGone);
    spare.worker.off('error', spare.onGone);
    spare.worker.ref();
    return spare.worker;
  }

  /**
   * Boots replacements up to perLimits. Called once the actor that took a spare is ready (or failed),
   * and deferred a turn of the event loop, so creating the thread (~1 ms of this thread's time) comes
   * after the restarted actor's first request was sent rather than before.
   */
  refill(resourceLimits: ResourceLimits | undefined): void {
    setImmediate(() => this.fill(resourceLimits));
  }

  private fill(resourceLimits: ResourceLimits | undefined): void {
    const key = keyOf(resourceLimits);
    if (this.closed || (!this.idle.has(key) && this.idle.size >= this.maxLimits)) return;
    const spares = this.idle.get(key) ?? [];
    this.idle.set(key, spares);
    while (spares.length < this.perLimits) {
      const worker = spawnHost(resourceLimits);
      worker.unref();
      const onGone = (): void => {
        const at = spares.findIndex((s) => s.worker === worker);
        if (at >= 0) spares.splice(at, 1);
      };
      // An idle spare that dies is dropped, not replaced: a thread that cannot boot must not respawn in a loop.
      worker.once('exit', onGone);
      worker.once('error', onGone);
      spares.push({ worker, onGone });
    }
  }

  /** Terminates the idle spares; take() keeps working, cold. */
  async close(): Promise<void> {
    this.closed = true;
    const spares = [...this.idle.values()].flat();
    this.idle.clear();
    await Promise.all(spares.map((s) => s.worker.terminate()));
  }

  get idleCount(): number {
    let count = 0;
    for (const spares of this.idle.values()) count += spares.length;
    return count;
  }
}

function spawnHost(resourceLimits: ResourceLimits | undefined): Worker {
  return new Worker(moduleUrl('actors/thread-host'), resourceLimits ? { resourceLimits } : {});
}

function keyOf(resourceLimits: ResourceLimits | undefined): string {
  if (resourceLimits === undefined) return '';
  const { maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb, stackSizeMb } = resourceLimits;
  return JSON.stringify([maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb, stackSizeMb]);
}
