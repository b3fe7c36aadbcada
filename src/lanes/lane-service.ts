import type { Logger } from 'pino';
import type { Decision } from '../authorize/codes.js';
import { EdgepayError, type ErrorCode } from '../errors.js';
import { numericCode, parseCurrency } from '../money/currency.js';
import type { NodeConfig } from '../node/config.js';
import type { NodeRuntime } from '../node/runtime.js';
import type { Clock } from '../platform/clock.js';
import { type CollectedCard, type ReaderRequest, type ReaderStatus, readerActorId } from '../reader/reader-actor-protocol.js';
import type { Outcome } from '../standin/index.js';
import { loadReaderProfile } from '../reader/profile.js';
import { type Payment, type PaymentRequestBody, type PaymentStatus, isFinal, paymentFromEntry } from './payment.js';
import { PaymentStore } from './payment-store.js';

export interface LaneInfo {
  readonly id: string;
  readonly port: string;
  readonly profile: string;
  readonly reader: ReaderStatus | null;
  readonly busyWith: string | null;
}

/** What a lane needs of the node: the reader actors, the journal writer's decision, lookups by key. */
export type LaneRuntime = Pick<NodeRuntime, 'isAccepting' | 'addStopHooks' | 'lookup' | 'track' | 'askOnce' | 'decideCaptured' | 'followUp'>;

/** Codes after which a payment ended without a decision; everything else is a system failure. */
const ENDED_BY_READER = new Set<string>(['EDGEPAY_READER_LOST', 'EDGEPAY_READER_TIMEOUT', 'EDGEPAY_READER_UNAVAILABLE', 'EDGEPAY_READER_BUSY', 'EDGEPAY_READER_INCOMPATIBLE']);

/**
 * The lanes of this node: each payment drives its lane's reader (start, wait for the card, show
 * the result) and asks the authorizer for the durable decision in between. The POS's idempotency
 * key is the payment's id: a retried request joins the payment in progress or gets its final
 * answer, also after a restart (from the journal).
 */
export class LaneService {
  private readonly store = new PaymentStore();
  private readonly busy = new Map<string, string>();
  private readonly txnIds = new Map<string, number>();
  private nextTxnId = 1;
  private readonly cardWaitMs = new Map<string, number>();

  constructor(
    private readonly runtime: LaneRuntime,
    private readonly config: Pick<NodeConfig, 'lanes'>,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    for (const lane of config.lanes) this.cardWaitMs.set(lane.id, loadReaderProfile(lane.profile).timeouts.cardWaitMs);
    runtime.addStopHooks({ onStopAccepting: () => this.cancelWaiting() });
  }

  async lanes(): Promise<LaneInfo[]> {
    return Promise.all(
      this.config.lanes.map(async (lane) => ({
        id: lane.id,
        port: lane.port,
        profile: lane.profile,
        reader: await this.readerStatus(lane.id),
        busyWith: this.busy.get(lane.id) ?? null,
      })),
    );
  }

  /** Starts a payment, or joins/replays the one with the same idempotency key. */
  async pay(body: PaymentRequestBody): Promise<{ payment: Payment; replayed: boolean }> {
    if (!this.runtime.isAccepting) {
      throw new EdgepayError('EDGEPAY_NODE_STOPPING', 'the node is shutting down and takes no new payments; retry on another lane or after restart', {});
    }
    const known = this.store.get(body.idempotencyKey);
    if (known) {
      assertSameRequest(known.payment, body);
      return { payment: await known.done, replayed: true };
    }
    // Both answers are needed before a payment starts; asked together, the POS waits for the slower only.
    const [recorded, reader] = await Promise.all([this.runtime.lookup(body.idempotencyKey), this.cardWaitMs.has(body.lane) ? this.readerStatus(body.lane) : null]);
    if (recorded) {
      const payment = paymentFromEntry(recorded);
      assertSameRequest(payment, body);
      return { payment, replayed: true };
    }
    if (!this.cardWaitMs.has(body.lane)) {
      throw new EdgepayError('EDGEPAY_LANE_UNKNOWN', `lane: ${JSON.stringify(body.lane)} is not a lane of this node (lanes: ${this.config.lanes.map((l) => l.id).join(', ') || 'none'})`, {
        field: 'lane',
        value: body.lane,
      });
    }
    const busyWith = this.busy.get(body.lane);
    if (busyWith !== undefined) {
      throw new EdgepayError('EDGEPAY_LANE_BUSY', `lane ${body.lane} is taking payment ${JSON.stringify(busyWith)}; finish or cancel it first`, { lane: body.lane, paymentId: busyWith });
    }
    // 'in_transaction' right after a payment only means the reader is still showing the last result.
    if (!reader || (reader.state !== 'ready' && reader.state !== 'in_transaction')) {
      throw new EdgepayError('EDGEPAY_READER_UNAVAILABLE', `lane ${body.lane} has no working reader (${reader ? reader.state : 'reader not running'})`, {
        lane: body.lane,
        state: reader?.state ?? null,
      });
    }
    return this.runtime.track(async () => {
      const now = new Date(this.clock.wallMs()).toISOString();
      const payment: Payment = {
        id: body.idempotencyKey,
        lane: body.lane,
        amountMinor: body.amountMinor,
        currency: body.currency,
        reference: body.reference,
        status: 'waiting_for_card',
        decision: null,
        card: null,
        journalSeq: null,
        error: null,
        createdAt: now,
        updatedAt: now,
      };
      this.busy.set(body.lane, payment.id);
      const done = this.run(payment).finally(() => {
        if (this.busy.get(body.lane) === payment.id) this.busy.delete(body.lane);
        this.txnIds.delete(payment.id);
      });
      this.store.start(payment, done);
      return { payment: await done, replayed: false };
    });
  }

  async get(id: string): Promise<Payment> {
    const known = this.store.get(id);
    if (known) return known.payment;
    const recorded = await this.runtime.lookup(id);
    if (recorded && recorded.kind === 'authorization') return paymentFromEntry(recorded);
    throw new EdgepayError('EDGEPAY_NOT_FOUND', `no payment with id ${JSON.stringify(id)} on this node`, { id });
  }

  /** Cancels a payment still waiting for its card; resolves with the cancelled payment. */
  async cancel(id: string): Promise<Payment> {
    const known = this.store.get(id);
    if (!known) {
      const payment = await this.get(id);
      throw notCancellable(payment);
    }
    if (known.payment.status !== 'waiting_for_card') throw notCancellable(known.payment);
    const txnId = this.txnIds.get(id);
    if (txnId !== undefined) {
      await this.runtime.askOnce<ReaderRequest, unknown>(readerActorId(known.payment.lane), { type: 'cancel', txnId }, 2_000).catch((error: unknown) => {
        this.logger.warn({ lane: known.payment.lane, err: error }, 'cancel could not reach the reader');
      });
    }
    return known.done;
  }

  followUp(id: string, kind: 'void' | 'refund', idempotencyKey: string, amountMinor?: number): Promise<Outcome> {
    return this.runtime.followUp({ kind, idempotencyKey, originalIdempotencyKey: id, ...(amountMinor === undefined ? {} : { amountMinor }) });
  }

  private async run(initial: Payment): Promise<Payment> {
    let payment = initial;
    const set = (status: PaymentStatus, fields: Partial<Payment> = {}): Payment => {
      payment = { ...payment, ...fields, status, updatedAt: new Date(this.clock.wallMs()).toISOString() };
      this.store.update(payment);
      return payment;
    };
    const readerId = readerActorId(payment.lane);
    const txnId = this.allocateTxnId();
    this.txnIds.set(payment.id, txnId);
    const timeoutMs = this.cardWaitMs.get(payment.lane)!;
    let card: CollectedCard;
    try {
      const collect: ReaderRequest = { type: 'collect', txnId, amountMinor: payment.amountMinor, currencyNumeric: numericCode(parseCurrency(payment.currency)), timeoutMs };
      card = await this.runtime.askOnce<ReaderRequest, CollectedCard>(readerId, collect, timeoutMs + 5_000);
    } catch (error) {
      const code = codeOf(error);
      if (code === 'EDGEPAY_READER_CANCELLED') return set('cancelled', { error: { code, message: messageOf(error) } });
      return set('failed', { error: { code: ENDED_BY_READER.has(code) ? code : code || 'EDGEPAY_READER_LOST', message: messageOf(error) } });
    }
    set('authorizing');
    let outcome: Outcome;
    try {
      outcome = await this.runtime.decideCaptured({
        idempotencyKey: payment.id,
        amountMinor: payment.amountMinor,
        currency: payment.currency,
        card,
        lane: payment.lane,
        reference: payment.reference,
      });
    } catch (error) {
      // The decision may have been recorded even though its answer was lost: the journal says.
      const recorded = await this.runtime.lookup(payment.id).catch(() => null);
      if (recorded) outcome = { decision: recorded.decision as Decision, entry: recorded, replayed: true };
      else return set('failed', { error: { code: codeOf(error) || 'EDGEPAY_JOURNAL_IO', message: messageOf(error) } });
    }
    const { decision, entry } = outcome;
    const final = set(decision.approved ? 'approved' : 'declined', {
      decision,
      card: entry ? { bin: entry.cardBin, last4: entry.cardLast4 } : null,
      journalSeq: entry?.seq ?? null,
      error: outcome.failure ? { code: outcome.failure.code, message: outcome.failure.message } : null,
    });
    const show: ReaderRequest = { type: 'show', txnId, approved: decision.approved, code: decision.code, text: decision.approved ? 'APPROVED' : 'DECLINED' };
    // The POS has the answer; the reader's display is a courtesy and must not hold the answer up.
    void this.runtime.askOnce(readerId, show, 2_000).catch((error: unknown) => this.logger.warn({ lane: payment.lane, err: error }, 'result not shown on the reader'));
    return final;
  }

  private cancelWaiting(): void {
    for (const payment of this.store.inProgress()) {
      if (payment.status === 'waiting_for_card') void this.cancel(payment.id).catch(() => undefined);
    }
  }

  private async readerStatus(laneId: string): Promise<ReaderStatus | null> {
    try {
      return await this.runtime.askOnce<ReaderRequest, ReaderStatus>(readerActorId(laneId), { type: 'status' }, 1_000);
    } catch {
      return null;
    }
  }

  private allocateTxnId(): number {
    const id = this.nextTxnId;
    this.nextTxnId = this.nextTxnId >= 0xffff_ffff ? 1 : this.nextTxnId + 1;
    return id;
  }
}

function assertSameRequest(payment: Payment, body: PaymentRequestBody): void {
  const differences: string[] = [];
  if (payment.lane && payment.lane !== body.lane) differences.push(`lane ${payment.lane} vs ${body.lane}`);
  if (payment.amountMinor !== body.amountMinor) differences.push(`amountMinor ${payment.amountMinor} vs ${body.amountMinor}`);
  if (payment.currency !== body.currency) differences.push(`currency ${payment.currency} vs ${body.currency}`);
  if (differences.length > 0) {
    throw new EdgepayError(
      'EDGEPAY_IDEMPOTENCY_CONFLICT',
      `idempotencyKey ${JSON.stringify(payment.id)} was already used for a different payment: ${differences.join(', ')}`,
      { idempotencyKey: payment.id, differences },
    );
  }
}

function notCancellable(payment: Payment): EdgepayError {
  return new EdgepayError(
    'EDGEPAY_PAYMENT_NOT_CANCELLABLE',
    `payment ${JSON.stringify(payment.id)} is ${payment.status}: only a payment waiting for its card can be cancelled${isFinal(payment.status) && payment.status === 'approved' ? ' (void it instead)' : ''}`,
    { id: payment.id, status: payment.status },
  );
}

function codeOf(error: unknown): ErrorCode | '' {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? (code as ErrorCode) : '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
