import { type ForwardBatch, describe, sameTotals, totalsOf } from '../central/batch.js';
import type { BatchAnswer } from '../central/centre.js';
import type { OnlineDecision, OnlineRequest } from '../central/online.js';
import { EdgepayError } from '../errors.js';
import type { JournalEntry } from '../journal/entry.js';
import type { ForwardedOutcome } from '../journal/journal.js';

/** How a node reaches the centre: in process (embedded), or over the fleet's MQTT. */
export interface CentreLink {
  /** Rejects when the centre could not be reached or did not answer in time: the batch may or may not have been taken. */
  send(batch: ForwardBatch): Promise<BatchAnswer>;
  /** An online authorization; rejects when the centre did not answer in time. */
  authorize?(request: OnlineRequest, timeoutMs: number): Promise<OnlineDecision>;
  /** Withdraws an online authorization the node stopped waiting for. */
  reverse?(origin: string, idempotencyKey: string, timeoutMs: number): Promise<void>;
}

/** Consecutive entries of one origin and the origin's signature of the last: what the centre verifies. */
export interface SignedEntries {
  readonly entries: JournalEntry[];
  readonly signature: Buffer;
}

/** The node's journal as the uplink needs it. */
export interface UplinkJournal {
  headSeq(): number;
  /**
   * About `limit` entries from `fromSeq` with the origin's signature of the last one; none when
   * nothing is there. The own journal signs its last entry; a replica cuts at an entry it holds
   * the origin's signature of, which may be a little before or after `limit`.
   */
  read(fromSeq: number, limit: number): SignedEntries | undefined;
  firstUnforwardedSeq(): number | undefined;
  /** Persists the centre's outcomes (idempotent: an entry keeps its first outcome). */
  record(outcomes: readonly ForwardedOutcome[]): Promise<void>;
}

export interface UplinkOptions {
  /** The node whose journal is forwarded. */
  readonly origin: string;
  readonly store: string;
  /** The node doing the forwarding: the origin, or a peer holding the origin's journal in custody. */
  readonly sender?: string;
  readonly journal: UplinkJournal;
  readonly centre: CentreLink;
  /** Entries per batch; bounded so one answer and one ledger transaction stay small. */
  readonly batchSize: number;
  /** Batches in flight at once (default 2); 1 sends the next only after the answer to the last. */
  readonly window?: number;
  readonly onBatch?: (progress: UplinkProgress) => void;
}

export interface UplinkProgress {
  readonly forwardedThrough: number;
  readonly headSeq: number;
  readonly entriesSent: number;
}

export interface DrainReport {
  readonly batches: number;
  readonly entriesSent: number;
  readonly settled: number;
  readonly exceptions: number;
  readonly recorded: number;
  /** Times the centre said it held less than the uplink assumed, and the uplink went back. */
  readonly rewinds: number;
  readonly headSeq: number;
}

const DEFAULT_WINDOW = 2;

type Flight = { readonly batch: ForwardBatch; readonly answer: Promise<{ answer: BatchAnswer } | { error: unknown }> };

/** The centre refused a batch for a reason a resend cannot fix: an operator has to look. */
const FATAL = new Set([
  'EDGEPAY_CENTRE_NODE_UNKNOWN',
  'EDGEPAY_CENTRE_NODE_REVOKED',
  'EDGEPAY_CENTRE_NODE_STORE',
  'EDGEPAY_CENTRE_CUSTODY_REFUSED',
  'EDGEPAY_CENTRE_SIGNATURE',
  'EDGEPAY_CENTRE_CONFLICT',
  'EDGEPAY_CENTRE_CHAIN_BROKEN',
  'EDGEPAY_CENTRE_BATCH_SHAPE',
  'EDGEPAY_CENTRE_BATCH_TOTALS',
  'EDGEPAY_CENTRE_BATCH_EMPTY',
]);

/**
 * Forwards the node's journal to the centre in bounded, contiguous batches with their count and
 * sum per currency, and records the centre's outcome for each entry. Exactly once at the
 * centre, at least once on the wire: a batch whose answer was lost is sent again and the centre,
 * idempotent by (origin, seq), answers with the first outcomes. A crash anywhere resumes from the
 * first entry not recorded as forwarded.
 */
export class Uplink {
  private nextSeq: number | undefined;

  constructor(private readonly options: UplinkOptions) {
    if (!Number.isSafeInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > 10_000) {
      throw new EdgepayError('EDGEPAY_BAD_INPUT', `batchSize: must be a whole number from 1 to 10000, got ${options.batchSize}`, { field: 'batchSize', value: options.batchSize });
    }
  }

  /**
   * Forwards until the centre holds the whole journal as it stands now. Up to `window` batches
   * are in flight, so reading and checking the next batch overlaps the centre's transaction for
   * the one before; answers are taken strictly in order, and anything after a failed batch is
   * sent again.
   */
  async drain(): Promise<DrainReport> {
    const { journal, centre, batchSize } = this.options;
    const window = this.options.window ?? DEFAULT_WINDOW;
    const report = { batches: 0, entriesSent: 0, settled: 0, exceptions: 0, recorded: 0, rewinds: 0, headSeq: journal.headSeq() };
    this.nextSeq ??= journal.firstUnforwardedSeq() ?? report.headSeq + 1;
    const flights: Flight[] = [];
    let readSeq = this.nextSeq;
    let gapAt: number | undefined;
    const launch = (): void => {
      while (flights.length < window && readSeq <= report.headSeq) {
        const signed = journal.read(readSeq, Math.min(batchSize, report.headSeq - readSeq + 1));
        if (signed === undefined || signed.entries.length === 0) return;
        const { entries } = signed;
        const batch = this.batchOf(signed);
        flights.push({
          batch,
          answer: centre.send(batch).then(
            (answer) => ({ answer }),
            (error: unknown) => ({ error }),
          ),
        });
        readSeq = entries[entries.length - 1]!.seq + 1;
      }
    };
    const abandon = async (): Promise<void> => {
      // Whatever is still in flight is sent again later; its answers must not be recorded out of order.
      await Promise.all(flights.splice(0).map((f) => f.answer));
    };
    launch();
    while (flights.length > 0) {
      const { batch, answer: pending } = flights.shift()!;
      const settled = await pending;
      report.batches++;
      report.entriesSent += batch.entries.length;
      if ('error' in settled) {
        await abandon();
        throw settled.error;
      }
      const answer = settled.answer;
      const fromSeq = batch.entries[0]!.seq;
      if (!answer.ok) {
        if (answer.error.code === 'EDGEPAY_CENTRE_GAP' && answer.headSeq + 1 < fromSeq) {
          await abandon();
          // The batches before this one were taken, so either this one overtook them on the way
          // (several centre processes) and goes again as it is, or the centre really holds less
          // (its ledger was restored) and says so twice: then the uplink goes back to the centre's head.
          const again = gapAt === fromSeq;
          gapAt = fromSeq;
          readSeq = again ? answer.headSeq + 1 : fromSeq;
          this.nextSeq = readSeq;
          report.rewinds++;
          launch();
          continue;
        }
        await abandon();
        throw new EdgepayError(FATAL.has(answer.error.code) ? answer.error.code : 'EDGEPAY_CENTRE_UNAVAILABLE', `the centre refused batch ${batch.batchId}: ${answer.error.message}`, {
          origin: batch.origin,
          fromSeq,
          centreHeadSeq: answer.headSeq,
          centreCode: answer.error.code,
        });
      }
      this.checkAnswer(batch, answer);
      await journal.record(answer.outcomes.map((o) => ({ seq: o.seq, result: o.result, reason: o.reason })));
      for (const outcome of answer.outcomes) {
        if (outcome.result === 'settled') report.settled++;
        else if (outcome.result === 'exception') report.exceptions++;
        else report.recorded++;
      }
      this.nextSeq = batch.entries[batch.entries.length - 1]!.seq + 1;
      this.options.onBatch?.({ forwardedThrough: this.nextSeq - 1, headSeq: report.headSeq, entriesSent: report.entriesSent });
      launch();
    }
    return report;
  }

  private batchOf({ entries, signature }: SignedEntries): ForwardBatch {
    const first = entries[0]!.seq;
    const last = entries[entries.length - 1]!.seq;
    return {
      batchId: `${this.options.origin}:${first}-${last}`,
      store: this.options.store,
      origin: this.options.origin,
      sender: this.options.sender ?? this.options.origin,
      entries,
      totals: totalsOf(entries),
      signature,
    };
  }

  /** The centre's own totals and one outcome per entry, in order: anything else is a broken centre, not a retry. */
  private checkAnswer(batch: ForwardBatch, answer: Extract<BatchAnswer, { ok: true }>): void {
    const problem = !sameTotals(answer.totals, batch.totals)
      ? `the centre counted ${describe(answer.totals)}, this node sent ${describe(batch.totals)}`
      : answer.outcomes.length !== batch.entries.length || answer.outcomes.some((o, i) => o.seq !== batch.entries[i]!.seq)
        ? `the centre answered ${answer.outcomes.length} outcomes for ${batch.entries.length} entries`
        : undefined;
    if (problem !== undefined) {
      throw new EdgepayError('EDGEPAY_CENTRE_BATCH_TOTALS', `batch ${batch.batchId}: ${problem}; nothing recorded as forwarded`, { batchId: batch.batchId });
    }
  }
}
