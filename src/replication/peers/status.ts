import type { KeyObject } from 'node:crypto';
import { type Clock, monotonicMs } from '../../platform/clock.js';
import type { ReplicationLog } from '../../platform/replication-log.js';
import { type NodeStatus, sealStatus } from '../../wire/messages.js';
import type { MqttPort } from '../broker/port.js';
import type { SessionFloor } from './status-session.js';

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
  /** The node's own key: peers act on a status only if it verifies with the key they pinned for it. */
  readonly signingKey: KeyObject;
  /** Keeps the status order across restarts (replicas.db); without it only the process keeps it. */
  readonly sessionFloor?: SessionFloor;
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
 *
 * Peers ignore a status older than the last they accepted (status-order.ts), so each one is placed
 * in the node's own order: a session per connection, whose start never goes backwards (across
 * restarts too, with a session floor), and a counter within it.
 */
export class StatusReporter {
  private lastSentSeq = -1;
  private lastSentAtMs = Number.NEGATIVE_INFINITY;
  private sending = false;
  private session = 0;
  private counter = 0;

  constructor(private readonly options: StatusOptions) {
    this.startSession(this.readFloor());
  }

  /**
   * Set at connect, and so the start of a new session: the will is stamped now but ends the session
   * whose heartbeats follow it. Carries the head known then, never more than peers can fetch.
   */
  will(): WillMessage {
    this.startSession(this.session);
    return { topic: this.options.topic, payload: sealStatus(this.status(false), this.options.signingKey), qos: 1, retain: true };
  }

  /**
   * This node's own status as the broker holds it (verified with its own key). Should the session
   * floor have been lost with the disk, a process that started after the wall clock was stepped back
   * would open a session older than its previous process's, and peers would ignore it as a replay
   * until the clock caught up: the retained copy tells it where to continue. (The will set at this
   * connection keeps the older session; it is renewed at the next connect.)
   */
  observeOwn(status: NodeStatus): void {
    if (status.nodeId !== this.options.nodeId) return;
    // It arrives inside the replica batch's transaction; the session floor is written on another
    // connection, which would wait for that transaction's lock: continue once it has committed.
    queueMicrotask(() => this.continueAfter(status));
  }

  private continueAfter(status: NodeStatus): void {
    if (status.session > this.session) {
      this.startSession(status.session);
    } else if (status.session === this.session && status.n >= this.counter) {
      // Same session start in two processes (a restart within the same millisecond): count on past it.
      this.counter = status.n + 1;
    } else return;
    this.options.log.info({ session: this.session }, 'own status from an earlier process is newer: continuing after it');
    this.lastSentSeq = -1;
    this.refresh();
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
    port.publish(this.options.topic, sealStatus(this.status(true), this.options.signingKey), { qos: 1, retain: true }).then(
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
    const sent = this.options.port.publish(this.options.topic, sealStatus(this.status(false), this.options.signingKey), { qos: 1, retain: true });
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

  /** A session after `after`, at the wall clock if that is later; written down before any status of it goes out. */
  private startSession(after: number): void {
    this.session = Math.max(wholeMs(this.options.clock.wallMs()), after + 1);
    this.counter = 0;
    try {
      this.options.sessionFloor?.write(this.session);
    } catch (error) {
      // Statuses must go out all the same; only a restart under a clock stepped back would suffer.
      this.options.log.warn({ err: error, session: this.session }, 'cannot keep the status session; continuing');
    }
  }

  private readFloor(): number {
    try {
      return this.options.sessionFloor?.read() ?? 0;
    } catch (error) {
      this.options.log.warn({ err: error }, 'cannot read the status session; starting from the clock');
      return 0;
    }
  }

  /** The will takes counter 0 of its session; every later status of the session counts up from it. */
  private status(online: boolean): NodeStatus {
    const n = this.counter;
    this.counter++;
    return { nodeId: this.options.nodeId, online, headSeq: this.options.headSeq(), wallMs: wholeMs(this.options.clock.wallMs()), session: this.session, n };
  }
}

function wholeMs(wallMs: number): number {
  return Math.max(0, Math.floor(wallMs));
}
