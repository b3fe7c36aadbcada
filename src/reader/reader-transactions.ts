import type { ActorLog } from '../actors/worker-runtime.js';
import type { RawCard } from '../card/capture.js';
import { BadInputError, EdgepayError, type FieldProblem } from '../errors.js';
import { type Timers, systemTimers } from '../platform/timers.js';
import type { KeyObject } from 'node:crypto';
import { type CardDataMessage, type DataMessage, ProtocolError, type SealedCardMessage, type SessionNonces, TxnEndReason, cardFromEmv, isProtocolError, parseTlv } from './protocol/index.js';
import type { ConnectionState } from './reader-connection.js';
import { sealedCardFacts } from './sealed-card.js';
import type { CollectedCard, ReaderRequest } from './reader-actor-protocol.js';

type CollectRequest = Extract<ReaderRequest, { type: 'collect' }>;
type ShowRequest = Extract<ReaderRequest, { type: 'show' }>;

/** The part of the connection a transaction needs; an interface so the rules here stay testable without a port. */
export interface TransactionLink {
  readonly state: ConnectionState;
  /** Why the reader is 'incompatible'. */
  readonly problem?: string | undefined;
  /** The authenticated session's nonces; undefined on a clear (1.0) link. */
  readonly secureSession?: SessionNonces | undefined;
  /** The lane's pinned reader key, which sealed card data must verify with. */
  readonly pinned?: { readonly key: KeyObject } | undefined;
  send(msg: DataMessage): Promise<void>;
}

interface PendingCollect {
  readonly txnId: number;
  readonly amountMinor: number;
  readonly currencyNumeric: number;
  readonly resolve: (card: CollectedCard) => void;
  readonly reject: (error: Error) => void;
  readonly timer: unknown;
  /** The reader acknowledged START_TXN: from then on it must know the transaction. */
  started: boolean;
}

const MAX_TIMEOUT_MS = 600_000;
const U32_MAX = 0xffff_ffff;
const TEXT_MAX_BYTES = 64;

/**
 * One transaction at a time on one reader: START_TXN, then the card of that transaction, then
 * (after the decision) SHOW_RESULT. The card is handed to the caller and never kept or logged.
 */
export class ReaderTransactions {
  private collecting: PendingCollect | undefined;
  /**
   * Started on the reader and not finished there: waiting for its card, or read and waiting for the
   * decision's SHOW_RESULT. Cleared once the reader has the result or a CANCEL (or ends it, or is
   * gone), so the lane's state says only what the node still owes the reader.
   */
  private activeTxnId: number | undefined;

  constructor(
    private readonly link: TransactionLink,
    private readonly where: { readonly lane: string; readonly port: string },
    private readonly log: ActorLog,
    /** Tokenizes and seals the card as read: the PAN goes no further than this thread (P7). */
    private readonly capture: (raw: RawCard) => Promise<CollectedCard>,
    private readonly timers: Timers = systemTimers,
  ) {}

  get inTransaction(): boolean {
    return this.collecting !== undefined || this.activeTxnId !== undefined;
  }

  async collect(request: CollectRequest): Promise<CollectedCard> {
    validateCollect(request);
    this.requireReader();
    if (this.collecting !== undefined) {
      throw new EdgepayError('EDGEPAY_READER_BUSY', `reader on lane ${this.where.lane} is already waiting for the card of transaction ${this.collecting.txnId}`, {
        ...this.where,
        txnId: request.txnId,
        busyWith: this.collecting.txnId,
      });
    }
    const { txnId, amountMinor, currencyNumeric, timeoutMs } = request;
    return new Promise<CollectedCard>((resolve, reject) => {
      const pending: PendingCollect = {
        txnId,
        amountMinor,
        currencyNumeric,
        resolve,
        reject,
        timer: this.timers.setTimeout(() => this.timedOut(pending, timeoutMs), timeoutMs),
        started: false,
      };
      this.collecting = pending;
      // A new START_TXN supersedes a transaction that never got its SHOW_RESULT: the reader restarts too.
      this.activeTxnId = txnId;
      const timeoutS = Math.min(0xffff, Math.ceil(timeoutMs / 1000));
      this.link.send({ kind: 'START_TXN', txnId, amountMinor: BigInt(amountMinor), currencyNumeric, timeoutS }).then(
        () => {
          pending.started = true;
        },
        (error: unknown) => this.fail(pending, error as Error),
      );
    });
  }

  async cancel(txnId: number): Promise<{ ok: true }> {
    const pending = this.collecting?.txnId === txnId ? this.collecting : undefined;
    if (pending !== undefined) this.fail(pending, this.error('EDGEPAY_READER_CANCELLED', `transaction ${txnId} was cancelled`, txnId));
    // Best effort: the collect is over either way, and a reader that is gone has nothing to cancel.
    if ((pending !== undefined || this.activeTxnId === txnId) && this.link.state === 'ready') await this.sendCancel(txnId);
    return { ok: true };
  }

  async show(request: ShowRequest): Promise<{ ok: true }> {
    if (!isU32(request.txnId)) throw new BadInputError('show request', [{ path: 'txnId', message: 'must be a whole number from 0 to 4294967295', value: request.txnId }]);
    this.requireReader();
    await this.link.send({ kind: 'SHOW_RESULT', txnId: request.txnId, approved: request.approved === true, code: request.code, text: truncateUtf8(request.text, TEXT_MAX_BYTES) });
    // The reader has the result: it shows it and ends the transaction by itself; the node owes it nothing more.
    this.ended(request.txnId);
    return { ok: true };
  }

  onMessage(msg: DataMessage): void {
    if (msg.kind === 'CARD_DATA') this.onCardData(msg);
    else if (msg.kind === 'SEALED_CARD') this.onSealedCard(msg);
    else if (msg.kind === 'TXN_ENDED') this.onTxnEnded(msg.txnId, msg.reason);
  }

  onLost(error: EdgepayError): void {
    this.activeTxnId = undefined;
    if (this.collecting !== undefined) this.fail(this.collecting, error);
  }

  /** The reader sent ERROR: a transaction waiting for its card ends now, with the reader's code, rather than at its timeout. */
  onReaderError(readerCode: number, readerText: string): void {
    const pending = this.collecting;
    if (pending === undefined) return;
    this.activeTxnId = undefined;
    this.fail(pending, this.error('EDGEPAY_READER_ERROR', `the reader reported error ${readerCode} during transaction ${pending.txnId}: ${readerText}`, pending.txnId, { readerCode, readerText }));
  }

  /**
   * The reader no longer knows the transaction: it announced itself again (HELLO, as after a
   * reboot) or reported itself idle after acknowledging START_TXN. A transaction waiting for its
   * card ends now; one waiting for its result has nobody to show it to.
   */
  onReaderForgot(why: 'hello' | 'idle'): void {
    const pending = this.collecting;
    if (why === 'idle' && (pending === undefined || !pending.started)) return;
    this.activeTxnId = undefined;
    if (pending === undefined) return;
    const said = why === 'hello' ? 'announced itself again (HELLO)' : 'reported itself idle';
    this.fail(pending, this.error('EDGEPAY_READER_RESTARTED', `the reader ${said} while transaction ${pending.txnId} waited for its card`, pending.txnId, { readerSaid: why }));
  }

  /** The transaction this card data belongs to, taken off the wait; undefined (and ignored) for any other. */
  private takeCardData(msg: CardDataMessage | SealedCardMessage): PendingCollect | undefined {
    const pending = this.collecting;
    if (pending === undefined || pending.txnId !== msg.txnId) {
      // PROTOCOL.md 6: card data of another transaction is acknowledged (the link did) and ignored.
      this.log.debug({ txnId: msg.txnId, message: msg.kind }, 'card data for a transaction not waiting for a card, ignored');
      return undefined;
    }
    this.settle(pending);
    return pending;
  }

  private refuseCardData(pending: PendingCollect, error: unknown): void {
    pending.reject(cardDataError(error, pending.txnId, this.where));
    void this.sendCancel(pending.txnId);
  }

  private onSealedCard(msg: SealedCardMessage): void {
    const pending = this.takeCardData(msg);
    if (pending === undefined) return;
    const session = this.link.secureSession;
    const pinned = this.link.pinned;
    if (session === undefined || pinned === undefined) {
      this.refuseCardData(pending, new ProtocolError('EDGEPAY_CARD_DATA_WRONG_SESSION', 'sealed card data (SEALED_CARD) without an authenticated session', { message: msg.kind }));
      return;
    }
    try {
      pending.resolve(sealedCardFacts(msg, { session, readerKey: pinned.key, expected: { amountMinor: pending.amountMinor, currencyNumeric: pending.currencyNumeric } }));
    } catch (error) {
      this.refuseCardData(pending, error);
    }
  }

  private onCardData(msg: CardDataMessage): void {
    const pending = this.takeCardData(msg);
    if (pending === undefined) return;
    const refuse = (error: unknown): void => this.refuseCardData(pending, error);
    if (this.link.secureSession !== undefined || this.link.pinned !== undefined) {
      // Refused unread: a lane that pins its reader takes card data only sealed and signed, in any
      // state of its session; a PAN on its line is not from the reader that authenticates there.
      refuse(new ProtocolError('EDGEPAY_CARD_DATA_WRONG_SESSION', 'clear card data (CARD_DATA) on a lane that takes only sealed card data, refused unread', { message: msg.kind }));
      return;
    }
    let raw: RawCard;
    try {
      const read = cardFromEmv(parseTlv(msg.tlv), { amountMinor: pending.amountMinor, currencyNumeric: pending.currencyNumeric });
      // Only PAN and expiry go to capture: the sequence number, track 2 and the cryptogram stay behind.
      raw = { pan: read.pan, expiryYymm: read.expiryYymm };
    } catch (error) {
      refuse(error);
      return;
    }
    this.capture(raw).then(pending.resolve, refuse);
  }

  private onTxnEnded(txnId: number, reason: number): void {
    this.ended(txnId);
    const pending = this.collecting;
    if (pending === undefined || pending.txnId !== txnId) return;
    if (reason === TxnEndReason.NO_CARD) this.fail(pending, this.error('EDGEPAY_READER_TIMEOUT', `no card presented for transaction ${txnId} before the reader's timeout`, txnId));
    else this.fail(pending, this.error('EDGEPAY_READER_CANCELLED', `the reader ended transaction ${txnId} before a card was read (reason ${reason})`, txnId, { readerReason: reason }));
  }

  private timedOut(pending: PendingCollect, timeoutMs: number): void {
    if (this.collecting !== pending) return;
    this.fail(pending, this.error('EDGEPAY_READER_TIMEOUT', `no card presented for transaction ${pending.txnId} within ${timeoutMs} ms`, pending.txnId, { timeoutMs }));
    void this.sendCancel(pending.txnId);
  }

  /** Best effort: once the reader has the CANCEL, the transaction is over for the node, whether or not a TXN_ENDED follows. */
  private async sendCancel(txnId: number): Promise<void> {
    try {
      await this.link.send({ kind: 'CANCEL', txnId });
      this.ended(txnId);
    } catch {
      // The reader is gone or the link down: onLost has ended what was running.
    }
  }

  private ended(txnId: number): void {
    if (this.activeTxnId === txnId) this.activeTxnId = undefined;
  }

  private fail(pending: PendingCollect, error: Error): void {
    if (this.collecting !== pending) return;
    this.settle(pending);
    pending.reject(error);
  }

  private settle(pending: PendingCollect): void {
    this.timers.clearTimeout(pending.timer);
    this.collecting = undefined;
  }

  private requireReader(): void {
    const state = this.link.state;
    if (state === 'ready') return;
    if (state === 'incompatible') {
      const problem = this.link.problem ?? 'it speaks a protocol version this node does not';
      throw new EdgepayError('EDGEPAY_READER_INCOMPATIBLE', `the reader on lane ${this.where.lane} cannot be used: ${problem}`, { ...this.where, state, problem });
    }
    throw new EdgepayError('EDGEPAY_READER_UNAVAILABLE', `no reader ready on lane ${this.where.lane} (${state})`, { ...this.where, state });
  }

  private error(code: 'EDGEPAY_READER_TIMEOUT' | 'EDGEPAY_READER_CANCELLED' | 'EDGEPAY_READER_ERROR' | 'EDGEPAY_READER_RESTARTED', message: string, txnId: number, more: Record<string, unknown> = {}): EdgepayError {
    return new EdgepayError(code, message, { ...this.where, txnId, ...more });
  }
}

/** Card data that cannot be trusted fails the transaction with its reason; the details never carry card bytes. */
function cardDataError(error: unknown, txnId: number, where: Record<string, unknown>): Error {
  if (!isProtocolError(error)) return error instanceof Error ? error : new Error(String(error));
  return new EdgepayError('EDGEPAY_CARD_INVALID', `card data of transaction ${txnId} refused: ${error.message}`, { ...where, txnId, reason: error.code, ...error.details }, { cause: error });
}

function validateCollect(request: CollectRequest): void {
  const problems: FieldProblem[] = [];
  const check = (ok: boolean, path: string, message: string, value: unknown): void => {
    if (!ok) problems.push({ path, message, value });
  };
  check(isU32(request.txnId), 'txnId', `must be a whole number from 0 to ${U32_MAX}`, request.txnId);
  check(Number.isSafeInteger(request.amountMinor) && request.amountMinor > 0, 'amountMinor', 'must be a positive whole number of minor units', request.amountMinor);
  check(Number.isInteger(request.currencyNumeric) && request.currencyNumeric > 0 && request.currencyNumeric <= 999, 'currencyNumeric', 'must be an ISO 4217 numeric code (1-999)', request.currencyNumeric);
  check(Number.isFinite(request.timeoutMs) && request.timeoutMs > 0 && request.timeoutMs <= MAX_TIMEOUT_MS, 'timeoutMs', `must be from 1 to ${MAX_TIMEOUT_MS} milliseconds`, request.timeoutMs);
  if (problems.length > 0) throw new BadInputError('collect request', problems);
}

function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= U32_MAX;
}

/** The reader's display takes 64 bytes of UTF-8: cut at a character boundary rather than refuse a long message. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}
