import type { ErrorCode } from '../errors.js';
import { type Clock, systemClock } from '../platform/clock.js';
import { type BatchTotals, type ForwardBatch, checkBatch, totalsOf } from './batch.js';
import type { LedgerBackend } from './ledger-backend.js';
import { type NodeDirectory, authenticateBatch } from './node-registry.js';
import type { EntryOutcome, EntryResult } from './outcomes.js';
import { type OnlineDecision, type OnlineRequest, decideOnline } from './online.js';
import { planBatch } from './plan.js';

export interface CentreOptions {
  readonly backend: LedgerBackend;
  /** An offline approval forwarded later than this after it was taken becomes an exception. */
  readonly forwardDeadlineHours: number;
  /** Whose keys sign the batches: the backend's registry unless given (an embedded ledger passes the node's own). */
  readonly nodes?: NodeDirectory;
  readonly clock?: Clock;
}

/** The centre's answer to one batch: every entry's outcome, or why nothing of it was taken. */
export type BatchAnswer =
  | {
      readonly ok: true;
      readonly batchId: string;
      readonly origin: string;
      /** The last entry of the origin the centre holds after this batch. */
      readonly headSeq: number;
      /** One per entry of the batch, in order; entries held before come back with their first outcome. */
      readonly outcomes: readonly EntryOutcome[];
      /** The totals the centre computed: the sender compares them with its own. */
      readonly totals: BatchTotals;
    }
  | {
      readonly ok: false;
      readonly batchId: string;
      readonly origin: string;
      readonly headSeq: number;
      readonly error: { readonly code: ErrorCode; readonly message: string };
    };

/** A concurrent ingest posted the same POS payment first: planning again sees it and makes this one a duplicate. */
const SALES_ONCE_RETRIES = 3;

/**
 * The central ledger's front: checks a forwarded batch, plans it against what the ledger holds
 * and applies it in one transaction. Idempotent by (origin, seq): a batch delivered twice, or
 * forwarded again by a peer on a dead node's behalf, posts nothing the second time and gets the
 * first answer back; a different entry under a held sequence number is refused as a conflict.
 */
export class Centre {
  private readonly clock: Clock;
  private readonly nodes: NodeDirectory;
  /** Batches refused, by code: forged, revoked or broken ones are counted, not just dropped. */
  readonly refusals = new Map<ErrorCode, number>();
  /** Entries newly held by this process, by what became of them (a redelivered entry is not counted again): for the metrics. */
  readonly posted = new Map<EntryResult, number>();
  /** Offline approvals this process made exceptions, by reason: a rise is worth an operator's look. */
  readonly exceptions = new Map<string, number>();
  /** Batches of one origin are applied in the order they arrived here; the checks before overlap. */
  private readonly originQueues = new Map<string, Promise<unknown>>();

  constructor(private readonly options: CentreOptions) {
    this.clock = options.clock ?? systemClock;
    this.nodes = options.nodes ?? { lookup: (nodeId) => options.backend.registeredNode(nodeId) };
  }

  get backend(): LedgerBackend {
    return this.options.backend;
  }

  /**
   * Nothing of a batch is posted unless all of it is its origin's: the chain is checked first
   * (cheap, no database), then the registry and the one signature that covers the chain.
   */
  async ingest(batch: ForwardBatch): Promise<BatchAnswer> {
    const problem = checkBatch(batch) ?? (await this.authenticate(batch));
    if (problem !== undefined) return this.refuse(batch, problem.code, problem.message, await this.options.backend.headOf(batch.origin));
    return this.inOrder(batch.origin, () => this.apply(batch));
  }

  private async authenticate(batch: ForwardBatch): Promise<ReturnType<typeof authenticateBatch>> {
    const origin = await this.nodes.lookup(batch.origin);
    const sender = batch.sender === batch.origin ? origin : await this.nodes.lookup(batch.sender);
    return authenticateBatch(batch, origin, sender);
  }

  private async apply(batch: ForwardBatch): Promise<BatchAnswer> {
    const context = { nowMs: this.clock.wallMs(), forwardDeadlineMs: this.options.forwardDeadlineHours * 3_600_000 };
    for (let attempt = 1; ; attempt++) {
      try {
        const plan = await this.options.backend.ingest(batch, (view) => planBatch(batch, view), context);
        if (!plan.ok) return this.refuse(batch, plan.code, plan.message, plan.headSeq);
        this.count(plan.rows);
        return { ok: true, batchId: batch.batchId, origin: batch.origin, headSeq: plan.head.seq, outcomes: plan.outcomes, totals: totalsOf(batch.entries) };
      } catch (error) {
        if (attempt < SALES_ONCE_RETRIES && isUniqueViolation(error)) continue;
        throw error;
      }
    }
  }

  async authorizeOnline(request: OnlineRequest): Promise<OnlineDecision> {
    const nowMs = this.clock.wallMs();
    return this.options.backend.authorizeOnline(request, (standing) => decideOnline(request, standing, nowMs), nowMs);
  }

  reverseOnline(origin: string, idempotencyKey: string): Promise<void> {
    return this.options.backend.reverseOnline(origin, idempotencyKey, this.clock.wallMs());
  }

  private inOrder<T>(origin: string, work: () => Promise<T>): Promise<T> {
    const previous = this.originQueues.get(origin) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.originQueues.set(origin, tail);
    void tail.then(() => {
      if (this.originQueues.get(origin) === tail) this.originQueues.delete(origin);
    });
    return next;
  }

  private count(rows: readonly { readonly result: EntryResult; readonly reason: string | null }[]): void {
    for (const row of rows) {
      this.posted.set(row.result, (this.posted.get(row.result) ?? 0) + 1);
      if (row.result === 'exception') this.exceptions.set(row.reason ?? 'unknown', (this.exceptions.get(row.reason ?? 'unknown') ?? 0) + 1);
    }
  }

  private refuse(batch: ForwardBatch, code: ErrorCode, message: string, headSeq: number): BatchAnswer {
    this.refusals.set(code, (this.refusals.get(code) ?? 0) + 1);
    return { ok: false, batchId: batch.batchId, origin: batch.origin, headSeq, error: { code, message } };
  }
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  // SQLite (better-sqlite3) and PostgreSQL (SQLSTATE 23505).
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}
