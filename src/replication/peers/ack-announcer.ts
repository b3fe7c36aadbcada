import type { KeyObject } from 'node:crypto';
import type { JournalEntry } from '../../journal/entry.js';
import type { Clock } from '../../platform/clock.js';
import type { ReplicationLog } from '../../platform/replication-log.js';
import { sealAck } from '../../wire/messages.js';
import type { MqttPort } from '../broker/port.js';

export interface AckAnnouncerOptions {
  readonly nodeId: string;
  /** This node's own ack topic (StoreTopics.ack(nodeId)). */
  readonly topic: string;
  readonly port: MqttPort;
  /** Acks are signed: an origin counts one toward its quorum only for the node whose key signed it. */
  readonly signingKey: KeyObject;
  readonly clock: Clock;
  readonly log: ReplicationLog;
}

/**
 * Tells each origin how far this node holds its journal, for the origin's quorum wait. Stored runs
 * that arrive together are coalesced into one message per origin on the next turn of the event
 * loop; an ack is a maximum, so a lost or late one is corrected by the next.
 */
export class AckAnnouncer {
  private readonly due = new Map<string, number>();
  private scheduled = false;

  constructor(private readonly options: AckAnnouncerOptions) {}

  holding(entries: readonly JournalEntry[]): void {
    const last = entries[entries.length - 1];
    if (last === undefined) return;
    this.due.set(last.nodeId, Math.max(this.due.get(last.nodeId) ?? 0, last.seq));
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const { port, topic, nodeId, signingKey, clock, log } = this.options;
    if (!port.connected) {
      this.due.clear();
      return;
    }
    const wallMs = Math.max(0, Math.floor(clock.wallMs()));
    for (const [origin, seq] of this.due) {
      port.publish(topic, sealAck({ node: nodeId, origin, seq, wallMs }, signingKey), { qos: 1 }).catch((error: unknown) => {
        log.debug({ err: error, origin, seq }, 'ack not acknowledged by the broker');
      });
    }
    this.due.clear();
  }
}
