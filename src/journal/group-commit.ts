import { EdgepayError } from '../errors.js';

export interface GroupCommitOptions {
  /** Most requests committed in one transaction (one fsync). */
  readonly maxBatch: number;
  /**
   * How long the first request of a batch may wait for company. 0 flushes on the next turn of the
   * event loop, which already gathers every request that arrived meanwhile: under load batches fill
   * by themselves while a lone request pays no added latency.
   */
  readonly maxWaitMs: number;
  /** Most requests waiting; one more is refused at once with EDGEPAY_OVERLOADED. */
  readonly maxQueued: number;
  /** Called each time the last waiting request has been flushed: a moment to do housekeeping that must not hold a request up. */
  readonly onIdle?: () => void;
  /** Called after each flush that committed, with its request count and how long the transaction and its fsync took (metrics). */
  readonly onCommitted?: (requests: number, durationMs: number) => void;
}

export const DEFAULT_GROUP_COMMIT: GroupCommitOptions = { maxBatch: 512, maxWaitMs: 0, maxQueued: 16_384 };

export type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/**
 * Flushes one batch synchronously: one transaction, one fsync. It returns one result per request
 * (a request may fail alone, e.g. an idempotency conflict) or throws to fail the whole batch (the
 * transaction did not commit).
 */
export type FlushBatch<Req, Res> = (requests: readonly Req[]) => readonly Settled<Res>[];

interface Waiting<Req, Res> {
  readonly request: Req;
  readonly resolve: (value: Res) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Batches concurrent requests into one durable commit. A caller's promise settles only after the
 * flush that carried its request has returned, that is after the commit (and its fsync) finished.
 */
export class GroupCommit<Req, Res> {
  private queue: Waiting<Req, Res>[] = [];
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly options: GroupCommitOptions;

  constructor(
    private readonly flushBatch: FlushBatch<Req, Res>,
    options: Partial<GroupCommitOptions> = {},
  ) {
    this.options = { ...DEFAULT_GROUP_COMMIT, ...options };
    const { maxBatch, maxWaitMs, maxQueued } = this.options;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be an integer >= 1, got ${maxBatch}`);
    if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) throw new RangeError(`maxWaitMs must be >= 0, got ${maxWaitMs}`);
    if (!Number.isSafeInteger(maxQueued) || maxQueued < maxBatch) {
      throw new RangeError(`maxQueued must be an integer >= maxBatch (${maxBatch}), got ${maxQueued}`);
    }
  }

  get queued(): number {
    return this.queue.length;
  }

  submit(request: Req): Promise<Res> {
    if (this.queue.length >= this.options.maxQueued) {
      return Promise.reject(
        new EdgepayError('EDGEPAY_OVERLOADED', `journal queue is full (${this.options.maxQueued} waiting); try again shortly`, {
          maxQueued: this.options.maxQueued,
        }),
      );
    }
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once every request submitted so far has settled. */
  idle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    const full = this.queue.length >= this.options.maxBatch;
    if (this.scheduled !== undefined) {
      if (!full || this.options.maxWaitMs === 0) return;
      clearTimeout(this.scheduled as NodeJS.Timeout);
      this.scheduled = undefined;
    }
    if (full || this.options.maxWaitMs === 0) {
      this.scheduled = setImmediate(() => this.flush());
    } else {
      this.scheduled = setTimeout(() => this.flush(), this.options.maxWaitMs);
    }
  }

  private flush(): void {
    this.scheduled = undefined;
    const batch = this.queue.splice(0, this.options.maxBatch);
    if (batch.length > 0) this.runBatch(batch);
    if (this.queue.length > 0) {
      this.schedule();
    } else {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
      this.options.onIdle?.();
    }
  }

  private runBatch(batch: Waiting<Req, Res>[]): void {
    let results: readonly Settled<Res>[];
    const startedMs = performance.now();
    try {
      results = this.flushBatch(batch.map((w) => w.request));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    const committedMs = performance.now() - startedMs;
    if (results.length !== batch.length) {
      const error = new Error(`group commit flush returned ${results.length} results for ${batch.length} requests`);
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    batch.forEach((waiting, i) => {
      const result = results[i]!;
      if (result.ok) waiting.resolve(result.value);
      else waiting.reject(result.error);
    });
    // After every caller has its result: the hook is bookkeeping and must never hold up or fail a commit.
    this.options.onCommitted?.(batch.length, committedMs);
  }
}
