import type { JournalEntry } from '../journal/entry.js';
import type { ReplicationLog } from './log.js';
import type { MqttPort } from './port.js';
import { Subscriber } from './subscriber.js';

/**
 * Tells each origin how far this node holds its journal, for the origin's quorum wait. Stored runs
 * that arrive together are coalesced into one message per origin on the next turn of the event
 * loop; an ack is a maximum, so a lost or late one is corrected by the next.
 */
export class AckAnnouncer {
  private readonly due = new Map<string, number>();
  private scheduled = false;

  constructor(
    private readonly port: MqttPort,
    private readonly topic: string,
    private readonly log: ReplicationLog,
  ) {}

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
    if (!this.port.connected) {
      this.due.clear();
      return;
    }
    for (const [origin, seq] of this.due) {
      this.port.publish(this.topic, Subscriber.ackPayload(origin, seq), { qos: 1 }).catch((error: unknown) => {
        this.log.debug({ err: error, origin, seq }, 'ack not acknowledged by the broker');
      });
    }
    this.due.clear();
  }
}
