import type { KeyObject } from 'node:crypto';
import { type Clock, monotonicMs } from '../../platform/clock.js';
import { RUN_MAX, sealRun } from '../../wire/envelope.js';
import type { ReplicationLog } from '../../platform/replication-log.js';
import type { OutboxWatermark } from './outbox-watermark.js';
import type { JournalReader } from '../../journal/journal-reader.js';
import type { MqttPort } from '../broker/port.js';

export interface PublisherOptions {
  readonly nodeId: string;
  readonly topic: string;
  readonly journal: JournalReader;
  readonly watermark: OutboxWatermark;
  readonly port: MqttPort;
  readonly signingKey: KeyObject;
  /** Publishes sent and not yet acknowledged, at most. */
  readonly inflightWindow: number;
  /** How often the journal is polled for new rows when there is nothing to send. */
  readonly pollIdleMs: number;
  /** An unacknowledged publish older than this while connected is sent again (from the watermark). */
  readonly inflightTimeoutMs: number;
  readonly clock: Clock;
  readonly log: ReplicationLog;
  /** Called after the acknowledged sequence moved, e.g. to refresh the node's status. */
  readonly onAcked?: (ackedSeq: number) => void;
}

export interface PublisherStats {
  readonly ackedSeq: number;
  readonly inflight: number;
  /** Entries handed to the client since start, re-sends included. */
  readonly published: number;
  /** Messages those entries went in (runs of up to RUN_MAX consecutive entries). */
  readonly messages: number;
}

/** A failed read of the own journal is retried after this long rather than in a tight loop. */
const READ_RETRY_MS = 1_000;

/**
 * The transactional outbox: publishes the node's own journal in order, from the last sequence the
 * broker acknowledged. It only reads committed rows (nothing not durable is published), and the
 * watermark moves only on PUBACK and is persisted, so a restart resumes where the broker's
 * acknowledgements stopped: at-least-once, with receivers deduplicating by (origin, seq).
 */
export class Publisher {
  private ackedSeq: number;
  private nextSeq: number;
  /** Sequence → when it was sent. Bounded by inflightWindow. */
  private readonly inflight = new Map<number, number>();
  /** Acknowledged beyond ackedSeq + 1, waiting for the ones before them. */
  private readonly ackedAhead = new Set<number>();
  private published = 0;
  private messages = 0;
  private timer: NodeJS.Timeout | undefined;
  /** A pump due now: setImmediate, because a zero setTimeout waits at least a millisecond, which is most of a hop's latency. */
  private immediate: NodeJS.Immediate | undefined;
  private saveScheduled = false;
  private running = false;
  private closed = false;

  constructor(private readonly options: PublisherOptions) {
    const stored = options.watermark.read();
    const journalHead = options.journal.headSeq();
    if (options.journal.available && stored > journalHead) {
      // Only a journal restored from an older copy can be behind what the broker acknowledged.
      options.log.error({ watermarkSeq: stored, journalHeadSeq: journalHead }, 'outbox watermark is ahead of the journal; publishing from the journal head');
    }
    this.ackedSeq = options.journal.available ? Math.min(stored, journalHead) : stored;
    this.nextSeq = this.ackedSeq + 1;
  }

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  /** New rows were committed: publish them now instead of at the next poll. */
  notify(): void {
    if (this.running) this.schedule(0);
  }

  /** The link is up again: whatever is unacknowledged is re-sent by the client; new rows go now. */
  onConnect(): void {
    this.notify();
  }

  stats(): PublisherStats {
    return { ackedSeq: this.ackedSeq, inflight: this.inflight.size, published: this.published, messages: this.messages };
  }

  /** Stops publishing; acknowledgements still arriving are recorded until close(). */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** Persists the watermark a last time; call before the database closes. */
  close(): void {
    this.stop();
    this.save();
    this.closed = true;
  }

  private schedule(delayMs: number): void {
    if (!this.running || this.immediate !== undefined) return;
    if (delayMs === 0) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.immediate = setImmediate(() => this.pump());
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.pump(), delayMs);
    this.timer.unref();
  }

  private pump(): void {
    this.timer = undefined;
    this.immediate = undefined;
    if (!this.running) return;
    if (!this.options.port.connected) return this.schedule(this.options.pollIdleMs);
    this.resendIfStalled();
    const room = this.options.inflightWindow - this.inflight.size;
    if (room <= 0) return; // an acknowledgement re-pumps
    let batch: ReturnType<JournalReader['read']>;
    try {
      batch = this.options.journal.read(this.nextSeq, room);
    } catch (error) {
      this.options.log.error({ err: error, fromSeq: this.nextSeq }, 'cannot read the own journal; retrying');
      return this.schedule(READ_RETRY_MS);
    }
    // Consecutive entries go as runs: one message, one signature and one check at each peer per run.
    for (let at = 0; at < batch.length; at += RUN_MAX) {
      const run = batch.slice(at, at + RUN_MAX);
      this.send(
        run.map((e) => e.seq),
        sealRun(run, this.options.signingKey),
      );
    }
    this.schedule(batch.length === room ? 0 : this.options.pollIdleMs);
  }

  private send(seqs: readonly number[], payload: Buffer): void {
    const sentAt = monotonicMs(this.options.clock);
    for (const seq of seqs) this.inflight.set(seq, sentAt);
    this.nextSeq = seqs[seqs.length - 1]! + 1;
    this.published += seqs.length;
    this.messages++;
    this.options.port.publish(this.options.topic, payload, { qos: 1 }).then(
      () => this.acked(seqs),
      (error: unknown) => {
        for (const seq of seqs.slice(1)) this.inflight.delete(seq);
        this.failed(seqs[0]!, error);
      },
    );
  }

  private acked(seqs: readonly number[]): void {
    for (const seq of seqs) {
      this.inflight.delete(seq);
      if (seq > this.ackedSeq) this.ackedAhead.add(seq);
    }
    const before = this.ackedSeq;
    while (this.ackedAhead.delete(this.ackedSeq + 1)) this.ackedSeq++;
    if (this.ackedSeq !== before) {
      this.scheduleSave();
      this.options.onAcked?.(this.ackedSeq);
    }
    this.schedule(0);
  }

  private failed(seq: number, error: unknown): void {
    this.inflight.delete(seq);
    if (!this.running) return;
    this.options.log.warn({ err: error, seq }, 'publish not acknowledged; sending again');
    // Everything from here is sent again; receivers drop the duplicates.
    this.nextSeq = Math.min(this.nextSeq, seq);
    this.schedule(0);
  }

  private resendIfStalled(): void {
    const now = monotonicMs(this.options.clock);
    for (const sentAt of this.inflight.values()) {
      if (now - sentAt < this.options.inflightTimeoutMs) continue;
      this.options.log.warn({ ackedSeq: this.ackedSeq, inflight: this.inflight.size }, 'publishes unacknowledged past the timeout; sending again from the watermark');
      this.inflight.clear();
      this.nextSeq = this.ackedSeq + 1;
      return;
    }
  }

  private scheduleSave(): void {
    if (this.saveScheduled || this.closed) return;
    this.saveScheduled = true;
    // Coalesces a burst of acknowledgements into one write: a lost update only causes re-sends.
    setImmediate(() => {
      this.saveScheduled = false;
      if (!this.closed) this.save();
    });
  }

  private save(): void {
    try {
      this.options.watermark.write(this.ackedSeq, this.options.clock.wallMs());
    } catch (error) {
      this.options.log.error({ err: error, ackedSeq: this.ackedSeq }, 'cannot persist the outbox watermark; entries will be sent again after a restart');
    }
  }
}
