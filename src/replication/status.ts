import { type Clock, monotonicMs } from '../platform/clock.js';
import type { ReplicationLog } from './log.js';
import { type NodeStatus, encodeStatus } from './messages.js';
import type { MqttPort } from './port.js';

export interface StatusOptions {
  readonly nodeId: string;
  readonly topic: string;
  readonly port: MqttPort;
  readonly clock: Clock;
  readonly log: ReplicationLog;
  /** Head changes are announced at most this often. */
  readonly minIntervalMs: number;
  /** Announced at least this often even without change: a peer that missed one hears the next. */
  readonly heartbeatMs: number;
  readonly headSeq: () => number;
}

export interface WillMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 1;
  readonly retain: true;
}

/**
 * The node's retained status: online with its acknowledged head, or offline. The broker publishes
 * the offline form itself (the last will) when the node vanishes without saying goodbye; peers
 * use the head to notice entries they missed (anti-entropy) even when no new entry arrives.
 */
export class StatusReporter {
  private lastSentSeq = -1;
  private lastSentAtMs = Number.NEGATIVE_INFINITY;
  private sending = false;

  constructor(private readonly options: StatusOptions) {}

  /** Set at connect; carries the head known then, which is never more than peers can fetch. */
  will(): WillMessage {
    return { topic: this.options.topic, payload: encodeStatus(this.status(false)), qos: 1, retain: true };
  }

  /** Announces at once, e.g. right after (re)connecting, when the broker may have lost the retained copy. */
  announce(): void {
    this.lastSentAtMs = Number.NEGATIVE_INFINITY;
    // A status stuck unacknowledged on the old connection must not hold back the new one's.
    this.sending = false;
    this.tick();
  }

  /**
   * Sends the current head now unless a status is already on its way (that one is as fresh): for a
   * peer that just came online and may hold an older retained copy.
   */
  refresh(): void {
    this.lastSentAtMs = Number.NEGATIVE_INFINITY;
    this.tick();
  }

  /** Called periodically and after acknowledgements; sends only when due. */
  tick(): void {
    const { port, clock, minIntervalMs, heartbeatMs } = this.options;
    if (!port.connected || this.sending) return;
    const now = monotonicMs(clock);
    const headSeq = this.options.headSeq();
    const elapsed = now - this.lastSentAtMs;
    const due = (headSeq !== this.lastSentSeq && elapsed >= minIntervalMs) || elapsed >= heartbeatMs;
    if (!due) return;
    this.sending = true;
    this.lastSentSeq = headSeq;
    this.lastSentAtMs = now;
    port.publish(this.options.topic, encodeStatus(this.status(true)), { qos: 1, retain: true }).then(
      () => {
        this.sending = false;
      },
      (error: unknown) => {
        this.sending = false;
        this.lastSentSeq = -1;
        this.options.log.debug({ err: error }, 'status not acknowledged; will be sent again');
      },
    );
  }

  /** Said on a clean stop, because the broker sends the last will only for an unclean one. */
  async goodbye(timeoutMs: number): Promise<void> {
    if (!this.options.port.connected) return;
    const sent = this.options.port.publish(this.options.topic, encodeStatus(this.status(false)), { qos: 1, retain: true });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      await Promise.race([sent.catch(() => undefined), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private status(online: boolean): NodeStatus {
    return { v: 1, nodeId: this.options.nodeId, online, headSeq: this.options.headSeq(), wallMs: this.options.clock.wallMs() };
  }
}
