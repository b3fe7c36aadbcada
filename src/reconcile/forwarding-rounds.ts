import type { ActorLog } from '../actors/worker-runtime.js';
import type { UplinkStatus } from './uplink-protocol.js';
import type { DrainReport, Uplink } from './uplink.js';

type MutableStatus = { -readonly [K in keyof UplinkStatus]: UplinkStatus[K] };

/**
 * The uplink's forwarding rounds: every interval, and at once when asked. One round at a time: a
 * round asked for while one runs waits for it and then runs again, so it sees every entry
 * committed before it was asked. After the node's own journal, a round forwards the journals of
 * the peers it holds in custody, if any.
 */
export class ForwardingRounds {
  private readonly state: MutableStatus = { lastRoundAtMs: null, lastReport: null, lastError: null, rounds: 0 };
  private running: Promise<DrainReport> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(
    private readonly uplink: Uplink,
    private readonly custody: (() => Promise<void>) | undefined,
  ) {}

  /** Rounds every intervalMs from now on, the first at once; a failed round is logged and the next resumes. */
  start(intervalMs: number, log: ActorLog): void {
    const round = (): void => {
      this.timer = undefined;
      void this.drain()
        .catch((error: unknown) => log.warn({ err: error }, 'forwarding round stopped short; the next round resumes from the first entry the centre does not hold'))
        .finally(() => {
          if (!this.stopping) this.timer = setTimeout(round, intervalMs);
        });
    };
    this.timer = setTimeout(round, 0);
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  status(): UplinkStatus {
    return { ...this.state };
  }

  async drain(): Promise<DrainReport> {
    while (this.running !== undefined) await this.running.catch(() => undefined);
    const round = (async () => {
      try {
        const report = await this.uplink.drain();
        await this.custody?.();
        this.state.lastReport = report;
        this.state.lastError = null;
        return report;
      } catch (error) {
        const e = error as { code?: unknown; message?: unknown };
        this.state.lastError = { code: typeof e.code === 'string' ? e.code : 'EDGEPAY_CENTRE_UNAVAILABLE', message: String(e.message ?? error) };
        throw error;
      } finally {
        this.state.rounds++;
        this.state.lastRoundAtMs = Date.now();
      }
    })();
    this.running = round;
    try {
      return await round;
    } finally {
      if (this.running === round) this.running = undefined;
    }
  }

  /** No round after this one; waits for the round in progress. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
