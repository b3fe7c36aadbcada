import { type ResourceLimits, Worker } from 'node:worker_threads';
import { BadInputError } from '../errors.js';
import { moduleUrl } from './modules.js';
import type { FromWorker, HostPreload } from './protocol.js';

/** A spare thread's entry point (an entry of the bundle: app/entry-points.ts). */
export const THREAD_HOST_MODULE = 'actors/thread-host';

export interface SpareThreadsOptions {
  /** Idle threads kept per distinct resourceLimits (default 1). */
  readonly perLimits?: number;
  /** Distinct resourceLimits kept warm (default 8); others start cold. */
  readonly maxLimits?: number;
}

interface Spare {
  readonly worker: Worker;
  readonly onGone: () => void;
  /** A prewarmed thread's: lets the next prewarm start (once its module is loaded, or it is gone). */
  readonly loaded?: () => void;
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
  /** Threads importing one actor's module ahead of its start (prewarm), by module and limits. */
  private readonly preloaded = new Map<string, Spare>();
  private readonly prewarmQueue: { readonly key: string; readonly href: string; readonly resourceLimits: ResourceLimits | undefined }[] = [];
  private prewarming = false;
  private closed = false;
  /** Refills asked for while held (holdRefills), one per distinct resourceLimits. */
  private heldRefills: (ResourceLimits | undefined)[] | undefined;

  constructor(options: SpareThreadsOptions = {}) {
    this.perLimits = options.perLimits ?? 1;
    this.maxLimits = options.maxLimits ?? 8;
    const problems = [];
    if (!Number.isSafeInteger(this.perLimits) || this.perLimits < 0 || this.perLimits > 16) problems.push({ path: 'perLimits', message: 'must be a whole number from 0 to 16', value: this.perLimits });
    if (!Number.isSafeInteger(this.maxLimits) || this.maxLimits < 1 || this.maxLimits > 64) problems.push({ path: 'maxLimits', message: 'must be a whole number from 1 to 64', value: this.maxLimits });
    if (problems.length > 0) throw new BadInputError('spare threads options', problems);
  }

  /**
   * Boots a thread for `module` and has it import the module, so an actor started later (the
   * node's tree starts its children one after another) finds its code loaded. One thread at a
   * time, in the order asked: the first actor's module, on the critical path of a start, does not
   * share the cores with all the others' at once. One per module; it is taken by the first take()
   * of that module, and not replaced.
   */
  prewarm(module: URL | string, resourceLimits: ResourceLimits | undefined): void {
    const href = String(module);
    const key = `${href} ${keyOf(resourceLimits)}`;
    if (this.closed || this.preloaded.has(key) || this.prewarmQueue.some((queued) => queued.key === key)) return;
    this.prewarmQueue.push({ key, href, resourceLimits });
    this.nextPrewarm();
  }

  private nextPrewarm(): void {
    if (this.prewarming || this.closed) return;
    const next = this.prewarmQueue.shift();
    if (next === undefined) return;
    this.prewarming = true;
    const worker = spawnHost(next.resourceLimits);
    worker.unref();
    let done = false;
    const loaded = (): void => {
      if (done) return;
      done = true;
      worker.off('message', onMessage);
      this.prewarming = false;
      this.nextPrewarm();
    };
    const onMessage = (message: FromWorker): void => {
      if (message.t === 'preloaded') loaded();
    };
    const onGone = (): void => {
      if (this.preloaded.get(next.key)?.worker === worker) this.preloaded.delete(next.key);
      loaded();
    };
    worker.on('message', onMessage);
    worker.once('exit', onGone);
    worker.once('error', onGone);
    worker.postMessage({ t: 'preload', module: next.href } satisfies HostPreload);
    this.preloaded.set(next.key, { worker, onGone, loaded });
  }

  /** A host thread for an actor: one that preloaded `module`, else an idle spare, otherwise one booted now. */
  take(resourceLimits: ResourceLimits | undefined, module?: URL | string): Worker {
    const key = module === undefined ? undefined : `${String(module)} ${keyOf(resourceLimits)}`;
    const preloaded = key === undefined ? undefined : this.preloaded.get(key);
    if (preloaded !== undefined) {
      this.preloaded.delete(key!);
      // Taken before it said its module was loaded: the next prewarm still waits for that, or for its end.
      if (preloaded.loaded !== undefined) preloaded.worker.once('exit', preloaded.loaded);
    } else if (key !== undefined) {
      // Not booted yet: the actor starts cold, and nothing boots later for a module already started.
      const queued = this.prewarmQueue.findIndex((entry) => entry.key === key);
      if (queued >= 0) this.prewarmQueue.splice(queued, 1);
    }
    const spare = preloaded ?? this.idle.get(keyOf(resourceLimits))?.shift();
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
    if (this.heldRefills !== undefined) {
      if (!this.heldRefills.some((held) => keyOf(held) === keyOf(resourceLimits))) this.heldRefills.push(resourceLimits);
      return;
    }
    setImmediate(() => this.fill(resourceLimits));
  }

  /**
   * Holds refills back until `release()`: while a whole tree starts, a spare booting beside the
   * actors' own threads takes a core from them (a thread's boot is ~100 ms of CPU), and the spare
   * is only for restarts, which come later. Prewarming goes on: it is the start's own work.
   */
  holdRefills(): () => void {
    this.heldRefills ??= [];
    return () => {
      const held = this.heldRefills ?? [];
      this.heldRefills = undefined;
      for (const resourceLimits of held) this.refill(resourceLimits);
    };
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
    const spares = [...this.idle.values()].flat().concat([...this.preloaded.values()]);
    this.idle.clear();
    this.preloaded.clear();
    this.prewarmQueue.length = 0;
    await Promise.all(spares.map((s) => s.worker.terminate()));
  }

  get idleCount(): number {
    let count = 0;
    for (const spares of this.idle.values()) count += spares.length;
    return count;
  }
}

function spawnHost(resourceLimits: ResourceLimits | undefined): Worker {
  return new Worker(moduleUrl(THREAD_HOST_MODULE), resourceLimits ? { resourceLimits } : {});
}

function keyOf(resourceLimits: ResourceLimits | undefined): string {
  if (resourceLimits === undefined) return '';
  const { maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb, stackSizeMb } = resourceLimits;
  return JSON.stringify([maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb, stackSizeMb]);
}
