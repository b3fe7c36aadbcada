import type { Logger } from 'pino';
import type { Decision } from '../authorize/codes.js';
import { EdgepayError, type ErrorCode } from '../errors.js';
import { numericCode, parseCurrency } from '../money/currency.js';
import type { NodeConfig } from '../config/node-config.js';
import type { NodeActorCall } from '../node/actor-directory.js';
import type { Clock } from '../platform/clock.js';
import { type CollectedCard, HANDSHAKE_WAIT_MS, type ReaderStatus, readerActorId } from '../reader/reader-actor-protocol.js';
import type { AuthorizationRequest, FollowUpRequest, Outcome } from '../standin/index.js';
import { loadReaderProfile } from '../reader/profile.js';
import type { JournalEntry } from '../journal/entry.js';
import { type Payment, type PaymentRequestBody, type PaymentStatus, isFinal } from './payment.js';
import { type Prior, assertSameAsStarting, assertSameRequest, endedByRestart, keyTaken, priorOfEntry } from './payment-key.js';
import type { PaymentOutcomes } from './payment-outcomes.js';
import { PaymentStore } from './payment-store.js';

export interface LaneInfo {
  readonly id: string;
  readonly port: string;
  readonly profile: string;
  readonly reader: ReaderStatus | null;
  readonly busyWith: string | null;
}

/** What a lane needs of the node: the reader actors, the journal writer's decision, lookups by key. */
export interface LaneRuntime {
  /** False once the node stops taking work. */
  readonly isAccepting: boolean;
  /** Called once when the node stops accepting work, before it waits for what is in flight. */
  addStopHooks(hooks: { onStopAccepting(): void }): void;
  /** Work the node's stop waits for. */
  track<T>(work: () => Promise<T>): Promise<T>;
  readonly askOnce: NodeActorCall;
  /** The durable decision on a card captured here (the journal writer, with its retries and quorum). */
  decideCaptured(request: AuthorizationRequest): Promise<Outcome>;
  followUp(request: FollowUpRequest): Promise<Outcome>;
  /** The committed journal entry under a key, read synchronously: the key's checks and its claim take no turn in between. */
  findEntry(idempotencyKey: string): JournalEntry | null;
}

/** Codes after which a payment ended without a decision; everything else is a system failure. */
const ENDED_BY_READER = new Set<string>([
  'EDGEPAY_READER_LOST',
  'EDGEPAY_READER_TIMEOUT',
  'EDGEPAY_READER_UNAVAILABLE',
  'EDGEPAY_READER_BUSY',
  'EDGEPAY_READER_INCOMPATIBLE',
  'EDGEPAY_READER_ERROR',
  'EDGEPAY_READER_RESTARTED',
]);

/**
 * The lanes of this node: each payment drives its lane's reader (start, wait for the card, show
 * the result) and asks the journal writer (the stand-in) for the durable decision in between. The POS's idempotency
 * key is the payment's id, and one key is one payment on the whole node: a request with a key
 * already in use joins the payment in progress or gets its answer (also after a restart, from the
 * journal or the lanes' own record), or, if it asks for something else, is refused before any
 * reader is touched.
 */
export class LaneService {
  private readonly store = new PaymentStore();
  private readonly busy = new Map<string, string>();
  private readonly txnIds = new Map<string, number>();
  private nextTxnId = 1;
  private readonly cardWaitMs = new Map<string, number>();
  /** Keys of voids and refunds being decided right now, with how many requests carry each. */
  private readonly followUpKeys = new Map<string, number>();
  /**
   * Payments being started: the key held from the request's arrival to its claim or refusal, so
   * that the first request to arrive owns the key however long its reader takes to answer.
   */
  private readonly starting = new Map<string, Starting>();

  constructor(
    private readonly runtime: LaneRuntime,
    private readonly config: Pick<NodeConfig, 'lanes'>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly outcomes: PaymentOutcomes,
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
    this.assertAccepting();
    // A key in use is answered at once, without asking the reader anything.
    const known = this.priorOf(body.idempotencyKey);
    if (known !== undefined) return this.answerFrom(known, body);
    const earlier = this.starting.get(body.idempotencyKey);
    if (earlier !== undefined) {
      assertSameAsStarting(earlier.body, body);
      const { done } = await earlier.started;
      return { payment: await done, replayed: true };
    }
    const started = this.start(body);
    this.starting.set(body.idempotencyKey, { body, started });
    try {
      const { done, replayed } = await started;
      return { payment: await done, replayed };
    } finally {
      this.starting.delete(body.idempotencyKey);
    }
  }

  /**
   * Asks the lane's reader, then checks and claims the key in one synchronous step; resolves once
   * the payment runs (with its ending to come) or rejects with why it did not start.
   */
  private async start(body: PaymentRequestBody): Promise<Started> {
    // The only wait before the claim. The key is held meanwhile (see starting), and everything
    // from the key's checks to the claim below runs in one synchronous step.
    const reader = this.cardWaitMs.has(body.lane) ? await this.readerStatus(body.lane, true) : null;
    this.assertAccepting();
    const prior = this.priorOf(body.idempotencyKey);
    if (prior !== undefined) {
      const answer = await this.answerFrom(prior, body);
      return { done: Promise.resolve(answer.payment), replayed: true };
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
    // A storage failure here refuses the payment before its reader starts; the key stays free.
    this.outcomes.claim(payment);
    this.busy.set(body.lane, payment.id);
    let settle!: { resolve: (payment: Payment) => void; reject: (error: unknown) => void };
    const done = new Promise<Payment>((resolve, reject) => (settle = { resolve, reject }));
    this.store.start(payment, done);
    const tracked = this.runtime.track(() => done);
    this.run(payment)
      .finally(() => {
        if (this.busy.get(body.lane) === payment.id) this.busy.delete(body.lane);
        this.txnIds.delete(payment.id);
      })
      .then(settle.resolve, settle.reject);
    return { done: tracked, replayed: false };
  }

  /** A request whose key is in use: it joins or gets the payment the key names, or is refused. */
  private async answerFrom(prior: Prior, body: PaymentRequestBody): Promise<{ payment: Payment; replayed: boolean }> {
    if (prior.kind === 'taken') throw keyTaken(body.idempotencyKey, prior.what, 'payment');
    assertSameRequest(prior.payment, body);
    return { payment: prior.kind === 'running' ? await prior.done : prior.payment, replayed: true };
  }

  /** A payment by its key, exactly as a repeated request would be answered. */
  async get(id: string): Promise<Payment> {
    const prior = this.priorOf(id);
    if (prior !== undefined && prior.kind !== 'taken') return prior.payment;
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
      await this.runtime.askOnce(readerActorId(known.payment.lane), { type: 'cancel', txnId }, 2_000).catch((error: unknown) => {
        this.logger.warn({ lane: known.payment.lane, err: error }, 'cancel could not reach the reader');
      });
    }
    return known.done;
  }

  /**
   * A void or refund of a payment. Its key may not be a payment's key: claimed here, in the same
   * synchronous step as the check, so that a payment cannot take it while the journal decides.
   */
  async followUp(id: string, kind: 'void' | 'refund', idempotencyKey: string, amountMinor?: number): Promise<Outcome> {
    const payment = this.store.get(idempotencyKey)?.payment ?? this.starting.get(idempotencyKey)?.body ?? this.outcomes.find(idempotencyKey);
    if (payment !== undefined) throw keyTaken(idempotencyKey, `payment ${JSON.stringify(idempotencyKey)} at lane ${payment.lane}`, kind);
    this.followUpKeys.set(idempotencyKey, (this.followUpKeys.get(idempotencyKey) ?? 0) + 1);
    try {
      return await this.runtime.followUp({ kind, idempotencyKey, originalIdempotencyKey: id, ...(amountMinor === undefined ? {} : { amountMinor }) });
    } finally {
      const left = this.followUpKeys.get(idempotencyKey)! - 1;
      if (left === 0) this.followUpKeys.delete(idempotencyKey);
      else this.followUpKeys.set(idempotencyKey, left);
    }
  }

  /** Closes the lanes' record of payments; the node calls it once everything has stopped. */
  close(): void {
    this.outcomes.close();
  }

  /**
   * What a key names, from the most recent source to the most durable: this run's payments, the
   * voids and refunds in flight, the journal (the decisions), then the lanes' record (every other
   * ending, and payments an earlier run left unfinished).
   */
  private priorOf(idempotencyKey: string): Prior | undefined {
    const live = this.store.get(idempotencyKey);
    if (live !== undefined) return isFinal(live.payment.status) ? { kind: 'ended', payment: live.payment } : { kind: 'running', payment: live.payment, done: live.done };
    if (this.followUpKeys.has(idempotencyKey)) return { kind: 'taken', what: 'a void or refund being decided' };
    const entry = this.runtime.findEntry(idempotencyKey);
    if (entry !== null) return priorOfEntry(entry);
    const recorded = this.outcomes.find(idempotencyKey);
    // Not among this run's payments: whatever it says was recorded by an earlier run.
    return recorded === undefined ? undefined : { kind: 'ended', payment: endedByRestart(recorded) };
  }

  private assertAccepting(): void {
    if (!this.runtime.isAccepting) {
      throw new EdgepayError('EDGEPAY_NODE_STOPPING', 'the node is shutting down and takes no new payments; retry on another lane or after restart', {});
    }
  }

  private async run(initial: Payment): Promise<Payment> {
    let payment = initial;
    const set = (status: PaymentStatus, fields: Partial<Payment> = {}): Payment => {
      payment = { ...payment, ...fields, status, updatedAt: new Date(this.clock.wallMs()).toISOString() };
      this.record(payment);
      this.store.update(payment);
      return payment;
    };
    const readerId = readerActorId(payment.lane);
    const txnId = this.allocateTxnId();
    this.txnIds.set(payment.id, txnId);
    const timeoutMs = this.cardWaitMs.get(payment.lane)!;
    let card: CollectedCard;
    try {
      const collect = { type: 'collect' as const, txnId, amountMinor: payment.amountMinor, currencyNumeric: numericCode(parseCurrency(payment.currency)), timeoutMs };
      card = await this.runtime.askOnce(readerId, collect, timeoutMs + 5_000);
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
      // The decision may have been recorded even though its answer was lost: the journal says, but
      // only an entry of this very payment (this lane, amount and card) may answer it.
      const recorded = this.findEntrySafely(payment.id);
      if (recorded !== null && isEntryOf(recorded, payment, card)) outcome = { decision: recorded.decision as Decision, entry: recorded, replayed: true };
      else return set('failed', { error: { code: codeOf(error) || 'EDGEPAY_JOURNAL_IO', message: messageOf(error) } });
    }
    const { decision, entry } = outcome;
    if (entry !== null && !isEntryOf(entry, payment, card)) {
      // Another path journaled this key first: its entry is not this payment's answer.
      return set('failed', {
        error: { code: 'EDGEPAY_IDEMPOTENCY_CONFLICT', message: `idempotencyKey ${JSON.stringify(payment.id)} was journaled as entry ${entry.seq} by another request; this payment was not decided` },
      });
    }
    const final = set(decision.approved ? 'approved' : 'declined', {
      decision,
      card: entry ? { last4: entry.cardLast4 } : null,
      journalSeq: entry?.seq ?? null,
      error: outcome.failure ? { code: outcome.failure.code, message: outcome.failure.message } : null,
    });
    const show = { type: 'show' as const, txnId, approved: decision.approved, code: decision.code, text: decision.approved ? 'APPROVED' : 'DECLINED' };
    // The POS has the answer; the reader's display is a courtesy and must not hold the answer up.
    void this.runtime.askOnce(readerId, show, 2_000).catch((error: unknown) => this.logger.warn({ lane: payment.lane, err: error }, 'result not shown on the reader'));
    return final;
  }

  /**
   * Records an ending the journal does not hold (cancelled, failed, a decline it could not record),
   * fsynced before the POS hears it. A decision with its journal entry needs nothing here: the
   * journal is asked first, so the payment path pays for one claim row and nothing more. If even
   * this record fails the POS still gets its answer, and after a restart the key answers as a
   * payment the node stopped in (see endedByRestart).
   */
  private record(payment: Payment): void {
    if (!isFinal(payment.status) || payment.journalSeq !== null) return;
    try {
      this.outcomes.finish(payment);
    } catch (error) {
      this.logger.error({ paymentId: payment.id, status: payment.status, err: error }, "the payment's ending could not be recorded");
    }
  }

  private findEntrySafely(idempotencyKey: string): JournalEntry | null {
    try {
      return this.runtime.findEntry(idempotencyKey);
    } catch {
      return null;
    }
  }

  private cancelWaiting(): void {
    for (const payment of this.store.inProgress()) {
      if (payment.status === 'waiting_for_card') void this.cancel(payment.id).catch(() => undefined);
    }
  }

  /** With settle, a reader the node is still shaking hands with is waited for (see the reader's status request). */
  private async readerStatus(laneId: string, settle = false): Promise<ReaderStatus | null> {
    try {
      return await this.runtime.askOnce(readerActorId(laneId), settle ? { type: 'status', settle } : { type: 'status' }, settle ? HANDSHAKE_WAIT_MS + 1_000 : 1_000);
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

/** A payment being started under a key: its request, and the start everyone with that key waits for. */
interface Starting {
  readonly body: PaymentRequestBody;
  readonly started: Promise<Started>;
}

/** A started payment's ending to come; replayed when the key turned out to name one already. */
interface Started {
  readonly done: Promise<Payment>;
  readonly replayed: boolean;
}

function isEntryOf(entry: JournalEntry, payment: Payment, card: CollectedCard): boolean {
  return entry.kind === 'authorization' && entry.lane === payment.lane && entry.amountMinor === payment.amountMinor && entry.currency === payment.currency && entry.cardToken === card.token;
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
