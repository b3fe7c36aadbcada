/**
 * What a rig started, to be undone in reverse order: a store stopped part by part, each part's
 * failure to stop ignored so the rest still stop.
 */
export class Closers {
  private readonly closers: (() => Promise<unknown> | unknown)[] = [];

  push(closer: () => Promise<unknown> | unknown): void {
    this.closers.push(closer);
  }

  async close(): Promise<void> {
    for (const closer of this.closers.splice(0).reverse()) await Promise.resolve(closer()).catch(() => undefined);
  }
}
