import type { JournalEntry } from '../../journal/entry.js';
import { type Timers, systemTimers } from '../../platform/timers.js';

export interface PeerEntriesMessage {
  readonly approvals: { origin: string; seq: number; token: string; currency: string; amountMinor: number; wallMs: number }[];
  readonly releases: { origin: string; seq: number }[];
}

/** Most approvals waiting to reach the journal writer; beyond it the oldest go (it reloads them from the replicas on restart). */
const MAX_WAITING = 50_000;
const RETRY_MS = 200;

/**
 * Hands peers' offline approvals and voids to the journal writer, which counts them in card
 * windows (P5). Delivery is retried while the journal writer restarts; a restarted journal writer
 * also reads everything in the window from the replicas, so a feed lost in between is recovered.
 * Nothing is judged here: the journal writer holds the rules and the clock that plausibility needs.
 */
export class ExposureFeed {
  private waiting: PeerEntriesMessage = { approvals: [], releases: [] };
  private timer: unknown;
  private sending = false;
  private stopped = false;

  constructor(
    private readonly deliver: (message: PeerEntriesMessage) => Promise<unknown>,
    private readonly onDropped: (count: number) => void = () => undefined,
    private readonly timers: Timers = systemTimers,
  ) {}

  add(entries: readonly JournalEntry[]): void {
    const message = peerEntriesMessage(entries);
    this.waiting.approvals.push(...message.approvals);
    this.waiting.releases.push(...message.releases);
    const excess = this.waiting.approvals.length - MAX_WAITING;
    if (excess > 0) {
      this.waiting.approvals.splice(0, excess);
      this.onDropped(excess);
    }
    this.flush();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
  }

  private flush(): void {
    if (this.sending || this.stopped || (this.waiting.approvals.length === 0 && this.waiting.releases.length === 0)) return;
    const message = this.waiting;
    this.waiting = { approvals: [], releases: [] };
    this.sending = true;
    this.deliver(message).then(
      () => {
        this.sending = false;
        this.flush();
      },
      () => {
        this.sending = false;
        // Put them back in front, keep order, and try again shortly.
        this.waiting = { approvals: [...message.approvals, ...this.waiting.approvals], releases: [...message.releases, ...this.waiting.releases] };
        if (!this.stopped) {
          this.timer ??= this.timers.setTimeout(() => {
            this.timer = undefined;
            this.flush();
          }, RETRY_MS);
        }
      },
    );
  }
}

/** What peers' stored entries change in shared exposure: their offline approvals, and the voids that release them. */
export function peerEntriesMessage(entries: readonly JournalEntry[]): PeerEntriesMessage {
  const message: PeerEntriesMessage = { approvals: [], releases: [] };
  for (const e of entries) {
    if (!e.decision.approved) continue;
    if (e.kind === 'authorization' && e.decision.mode === 'offline') {
      message.approvals.push({ origin: e.nodeId, seq: e.seq, token: e.cardToken, currency: e.currency, amountMinor: e.amountMinor, wallMs: e.wallMs });
    } else if (e.kind === 'void' && e.refSeq !== null) {
      message.releases.push({ origin: e.nodeId, seq: e.refSeq });
    }
  }
  return message;
}
