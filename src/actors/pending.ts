interface Entry<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  /** The caller already got its timeout; the entry stays only so the late reply is recognised and counted. */
  abandoned: boolean;
}

export interface PendingOptions {
  /**
   * Keep timed-out entries until their late reply arrives, so `size` counts what the other side
   * still holds. The mailbox bound depends on it: a timed-out request is still queued in the worker.
   */
  readonly keepAfterTimeout: boolean;
  /** Built only when a deadline passes; `tag` is what open() was given (e.g. the target's name). */
  readonly timeoutError: (timeoutMs: number, tag: string) => Error;
}

/** Calls awaiting a reply across a thread boundary, matched by correlation id, each with its own deadline. */
export class PendingTable<T> {
  private readonly entries = new Map<number, Entry<T>>();
  private nextId = 1;

  constructor(private readonly options: PendingOptions) {}

  /** Sent and not yet answered, including abandoned entries when they are kept. */
  get size(): number {
    return this.entries.size;
  }

  open(timeoutMs: number, tag = ''): { id: number; promise: Promise<T> } {
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.expire(id, timeoutMs, tag), timeoutMs);
      this.entries.set(id, { resolve, reject, timer, abandoned: false });
    });
    return { id, promise };
  }

  /** Returns false for an unknown id (already answered, or dropped by rejectAll). */
  resolve(id: number, value: T): boolean {
    const entry = this.take(id);
    if (entry === undefined) return false;
    if (!entry.abandoned) entry.resolve(value);
    return true;
  }

  reject(id: number, error: Error): boolean {
    const entry = this.take(id);
    if (entry === undefined) return false;
    if (!entry.abandoned) entry.reject(error);
    return true;
  }

  rejectAll(error: () => Error): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      if (!entry.abandoned) entry.reject(error());
    }
  }

  private take(id: number): Entry<T> | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    this.entries.delete(id);
    clearTimeout(entry.timer);
    return entry;
  }

  private expire(id: number, timeoutMs: number, tag: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.abandoned) return;
    if (this.options.keepAfterTimeout) entry.abandoned = true;
    else this.entries.delete(id);
    entry.reject(this.options.timeoutError(timeoutMs, tag));
  }
}
