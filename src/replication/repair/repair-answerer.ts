import type { KeyObject } from 'node:crypto';
import { type Clock, monotonicMs } from '../../platform/clock.js';
import type { Counters } from '../../wire/counters.js';
import { RUN_MAX, encodeRun, signEntry } from '../../wire/envelope.js';
import type { ReplicationLog } from '../../platform/replication-log.js';
import type { RepairRequest, VerifiedRepairRequest } from '../../wire/messages.js';
import type { JournalReader } from '../../journal/journal-reader.js';
import type { MqttPort } from '../broker/port.js';
import { DEFAULT_REPAIR_BUDGET, type RepairBudget, RepairBuckets } from './repair-budget.js';
import type { ReplicaStore } from '../replicas/replica-store.js';
import { type SignedRun, signedRuns } from '../replicas/replica-runs.js';
import type { StoreTopics } from '../../wire/topics.js';

export interface AnswererOptions {
  readonly nodeId: string;
  readonly topics: StoreTopics;
  readonly journal: JournalReader;
  readonly store: ReplicaStore;
  readonly port: MqttPort;
  readonly signingKey: KeyObject;
  readonly counters: Counters;
  readonly log: ReplicationLog;
  /** Monotonic time refills the requesters' byte budgets. */
  readonly clock: Clock;
  /** Answer bytes per requester (DEFAULT_REPAIR_BUDGET unless given). */
  readonly budget?: RepairBudget;
  /** Most entries sent for one request, whatever range it asks for. */
  readonly maxAnswerEntries: number;
  /** Answer publishes not yet acknowledged, at most; requests beyond it are refused (the requester retries). */
  readonly maxAnswersInFlight: number;
}

/**
 * Answers a range request from what this node holds: its own journal when it is the origin, its
 * replica otherwise. Every holder answers, so a range stays reachable while its origin is down;
 * the requester keeps the first copy and counts the rest as duplicates. Only verified requests
 * (signed by their requester, on its own topic) come here, and what each requester may draw is
 * bounded in bytes: runs past its budget are left for its next request, and counted.
 */
export class RepairAnswerer {
  private inFlight = 0;
  private readonly buckets: RepairBuckets;

  constructor(private readonly options: AnswererOptions) {
    this.buckets = new RepairBuckets(options.budget ?? DEFAULT_REPAIR_BUDGET);
  }

  answer(request: VerifiedRepairRequest): void {
    const { nodeId, maxAnswerEntries, maxAnswersInFlight, counters, log } = this.options;
    if (request.requester === nodeId) return;
    const runs = this.holdings(request, maxAnswerEntries);
    const entries = runs.reduce((sum, run) => sum + run.entries.length, 0);
    if (entries === 0) return;
    if (this.inFlight + entries > maxAnswersInFlight || !this.options.port.connected) {
      counters.increment('repair_refused');
      return;
    }
    const topic = this.options.topics.inbox(request.requester);
    const nowMs = monotonicMs(this.options.clock);
    let sent = 0;
    for (const run of runs) {
      const payload = encodeRun(run.entries, run.signature);
      // In order, stopping at the first run over budget: the requester then asks again from there.
      if (!this.buckets.take(request.requester, payload.byteLength, nowMs)) break;
      sent++;
      this.publish(topic, run, payload);
    }
    if (sent < runs.length) {
      counters.increment('repair_throttled');
      log.warn({ requester: request.requester, origin: request.origin, fromSeq: request.fromSeq, runs: runs.length, sent }, 'repair answer cut short: the requester is over its byte budget');
    }
    if (sent === 0) return;
    counters.increment('repair_answered');
    log.debug({ origin: request.origin, fromSeq: runs[0]?.entries[0]?.seq, toSeq: runs[sent - 1]?.entries.at(-1)?.seq, requester: request.requester }, 'answered repair');
  }

  private publish(topic: string, run: SignedRun, payload: Buffer): void {
    const first = run.entries[0]!;
    this.inFlight += run.entries.length;
    this.options.port.publish(topic, payload, { qos: 1 }).then(
      () => (this.inFlight -= run.entries.length),
      (error: unknown) => {
        this.inFlight -= run.entries.length;
        this.options.log.debug({ err: error, origin: first.nodeId, seq: first.seq }, 'repair answer not acknowledged');
      },
    );
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
