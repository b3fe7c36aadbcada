/**
 * Detects a worker whose event loop stopped turning. The worker bumps a shared counter from a
 * timer; this side only reads it. Shared memory rather than heartbeat messages: if the parent
 * itself was blocked, queued heartbeat messages would look like silence and kill a healthy worker,
 * while a counter that moved during the block is seen as moved.
 */
export class HeartbeatWatch {
  private readonly beat: Int32Array;
  private readonly checkEveryMs: number;
  private lastValue: number;
  private lastChangeAt = performance.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    heartbeat: SharedArrayBuffer,
    heartbeatMs: number,
    private readonly hungAfterMs: number,
    private readonly onHung: (silentMs: number) => void,
  ) {
    this.beat = new Int32Array(heartbeat);
    this.lastValue = Atomics.load(this.beat, 0);
    // Detection lands within hungAfterMs + 2 checks of the last beat; a check is one atomic load.
    this.checkEveryMs = Math.max(5, Math.min(heartbeatMs, Math.floor(hungAfterMs / 4)));
  }

  start(): void {
    this.lastChangeAt = performance.now();
    this.timer = setInterval(() => this.check(), this.checkEveryMs);
    // The worker keeps the process alive while it runs; the watchdog must not keep it alive after.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const value = Atomics.load(this.beat, 0);
    const now = performance.now();
    if (value !== this.lastValue) {
      this.lastValue = value;
      this.lastChangeAt = now;
      return;
    }
    const silentMs = now - this.lastChangeAt;
    if (silentMs >= this.hungAfterMs) {
      this.stop();
      this.onHung(silentMs);
    }
  }
}

export function newHeartbeatBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
}
