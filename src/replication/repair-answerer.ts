import type { KeyObject } from 'node:crypto';
import type { Counters } from './counters.js';
import { type SignedEntry, encodeEnvelope, signEntry } from './envelope.js';
import type { ReplicationLog } from './log.js';
import type { RepairRequest } from './messages.js';
import type { JournalReader } from '../journal/journal-reader.js';
import type { MqttPort } from './port.js';
import type { ReplicaStore } from './replica-store.js';
import type { StoreTopics } from './topics.js';

export interface AnswererOptions {
  readonly nodeId: string;
  readonly topics: StoreTopics;
  readonly journal: JournalReader;
  readonly store: ReplicaStore;
  readonly port: MqttPort;
  readonly signingKey: KeyObject;
  readonly counters: Counters;
  readonly log: ReplicationLog;
  /** Most entries sent for one request, whatever range it asks for. */
  readonly maxAnswerEntries: number;
  /** Answer publishes not yet acknowledged, at most; requests beyond it are refused (the requester retries). */
  readonly maxAnswersInFlight: number;
}

/**
 * Answers a range request from what this node holds: its own journal when it is the origin, its
 * replica otherwise. Every holder answers, so a range stays reachable while its origin is down;
 * the requester keeps the first copy and counts the rest as duplicates.
 */
export class RepairAnswerer {
  private inFlight = 0;

  constructor(private readonly options: AnswererOptions) {}

  answer(request: RepairRequest): void {
    const { nodeId, maxAnswerEntries, maxAnswersInFlight, counters } = this.options;
    if (request.requester === nodeId) return;
    const entries = this.holdings(request, maxAnswerEntries);
    if (entries.length === 0) return;
    if (this.inFlight + entries.length > maxAnswersInFlight || !this.options.port.connected) {
      counters.increment('repair_refused');
      return;
    }
    const topic = this.options.topics.inbox(request.requester);
    for (const entry of entries) {
      this.inFlight++;
      this.options.port.publish(topic, encodeEnvelope(entry), { qos: 1 }).then(
        () => this.inFlight--,
        (error: unknown) => {
          this.inFlight--;
          this.options.log.debug({ err: error, origin: entry.nodeId, seq: entry.seq }, 'repair answer not acknowledged');
        },
      );
    }
    counters.increment('repair_answered');
    this.options.log.debug({ origin: request.origin, fromSeq: entries[0]?.seq, toSeq: entries.at(-1)?.seq, requester: request.requester }, 'answered repair');
  }

  private holdings(request: RepairRequest, limit: number): SignedEntry[] {
    const count = Math.min(limit, request.toSeq - request.fromSeq + 1);
    if (request.origin !== this.options.nodeId) return this.options.store.range(request.origin, request.fromSeq, request.toSeq, count);
    return this.options.journal.read(request.fromSeq, count).map((entry) => ({ ...entry, signature: signEntry(entry, this.options.signingKey) }));
  }
}
