import type { KeyObject } from 'node:crypto';
import type { Counters } from './counters.js';
import { RUN_MAX, encodeRun, signEntry } from './envelope.js';
import type { ReplicationLog } from './log.js';
import type { RepairRequest } from './messages.js';
import type { JournalReader } from '../journal/journal-reader.js';
import type { MqttPort } from './port.js';
import type { ReplicaStore } from './replica-store.js';
import { type SignedRun, signedRuns } from './replica-runs.js';
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
    const runs = this.holdings(request, maxAnswerEntries);
    const entries = runs.reduce((sum, run) => sum + run.entries.length, 0);
    if (entries === 0) return;
    if (this.inFlight + entries > maxAnswersInFlight || !this.options.port.connected) {
      counters.increment('repair_refused');
      return;
    }
    const topic = this.options.topics.inbox(request.requester);
    for (const run of runs) {
      const first = run.entries[0]!;
      this.inFlight += run.entries.length;
      this.options.port.publish(topic, encodeRun(run.entries, run.signature), { qos: 1 }).then(
        () => (this.inFlight -= run.entries.length),
        (error: unknown) => {
          this.inFlight -= run.entries.length;
          this.options.log.debug({ err: error, origin: first.nodeId, seq: first.seq }, 'repair answer not acknowledged');
        },
      );
    }
    counters.increment('repair_answered');
    this.options.log.debug({ origin: request.origin, fromSeq: runs[0]?.entries[0]?.seq, toSeq: runs.at(-1)?.entries.at(-1)?.seq, requester: request.requester }, 'answered repair');
  }

  /**
   * Runs covering the request from its start, each ending at a signed entry. A replica reads up
   * to RUN_MAX - 1 entries past the range so the last run reaches the signature that vouches for
   * it; the origin signs its own runs as it cuts them.
   */
  private holdings(request: RepairRequest, limit: number): SignedRun[] {
    const count = Math.min(limit, request.toSeq - request.fromSeq + 1);
    if (request.origin === this.options.nodeId) {
      const entries = this.options.journal.read(request.fromSeq, count);
      const runs: SignedRun[] = [];
      for (let at = 0; at < entries.length; at += RUN_MAX) {
        const run = entries.slice(at, at + RUN_MAX);
        runs.push({ entries: run, signature: signEntry(run.at(-1)!, this.options.signingKey) });
      }
      return runs;
    }
    const lastWanted = request.fromSeq + count - 1;
    const held = this.options.store.range(request.origin, request.fromSeq, lastWanted + RUN_MAX - 1, count + RUN_MAX - 1);
    return signedRuns(held).filter((run) => run.entries[0]!.seq <= lastWanted);
  }
}
