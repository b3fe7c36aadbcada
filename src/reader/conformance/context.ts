/**
 * What a case works with: the link, the profile's windows, and the steps several cases take (an
 * acknowledged send, an awaited answer, a barrier, a transaction, a secure session). Each step
 * fails the case with a reason naming what was expected and what came.
 */
import { randomBytes } from 'node:crypto';
import type { ReaderProfile } from '../profile.js';
import {
  type AuthResponseMessage,
  Capability,
  type CardDataMessage,
  type DataMessage,
  type HelloMessage,
  MessageType,
  type SealedCardMessage,
  SecureSizes,
  type SessionNonces,
  type StartTxnMessage,
  type StatusMessage,
} from '../protocol/index.js';
import type { VerifyingKey } from './card-checks.js';
import { describeDelivery, describeMessage, describeSince, typeHex } from './describe.js';
import { fail, isConformanceError } from './errors.js';
import { answerWindowMs, helloExchange } from './session.js';
import type { Delivery, LinkEvent, TesterLink } from './tester-link.js';

export interface RunSettings {
  readonly profile: ReaderProfile;
  /** --reader-key: the key a lane would pin. */
  readonly readerKey: Uint8Array | undefined;
  /** A line for the person at the reader (present a card), on stderr. */
  readonly progress: (line: string) => void;
}

export interface SecureSession {
  readonly nonces: SessionNonces;
  readonly key: VerifyingKey;
  readonly response: AuthResponseMessage;
}

export type CardMessage = CardDataMessage | SealedCardMessage;

/** The currency of every START_TXN the runner sends (EUR); amounts differ per transaction. */
export const TEST_CURRENCY = 978;
/** Without a card within a second, the person at a real reader is told to present one. */
const CARD_HINT_AFTER_MS = 1_000;

export class CaseContext {
  /** Said in the report beside the result, e.g. which key the signatures were checked with. */
  readonly notes: string[] = [];
  /** Transactions the case started: cancelled after it, whatever became of them. */
  private readonly started = new Set<number>();

  constructor(
    readonly link: TesterLink,
    readonly settings: RunSettings,
    /** "C8 transaction", for progress lines. */
    readonly label: string,
    /** The reader's HELLO of this session. */
    public hello: HelloMessage,
    private readonly nextTxnId: () => number,
  ) {}

  get profile(): ReaderProfile {
    return this.settings.profile;
  }

  get answerMs(): number {
    return answerWindowMs(this.profile);
  }

  /** The window in which a reader must not do something: its own ACK time. */
  get quietMs(): number {
    return this.profile.timeouts.ackMs;
  }

  get secureReader(): boolean {
    return (this.hello.capabilities & Capability.SECURE_SESSION) !== 0;
  }

  /** A new session, the runner's reset between cases: HELLO exchange, the SEQ from 0, authentication void. */
  async newSession(): Promise<void> {
    const outcome = await helloExchange(this.link, this.profile, 1);
    if (!outcome.ok) fail(`could not start a session before the case: ${outcome.why}`);
    this.hello = outcome.hello;
  }

  async expectAck(msg: DataMessage, what: string = msg.kind): Promise<Delivery> {
    const delivery = await this.link.send(msg);
    if (delivery.outcome !== 'ack') fail(`expected an ACK for ${what} (SEQ ${delivery.seq}), got ${describeDelivery(delivery)}`);
    return delivery;
  }

  async expectMessage<M extends DataMessage>(match: (msg: DataMessage) => msg is M, from: number, expected: string, ms = this.answerMs): Promise<M> {
    const event = await this.link.waitFor((e) => e.kind === 'message' && match(e.msg), ms, from);
    if (event?.kind !== 'message') fail(`expected ${expected} within ${ms} ms, ${describeSince(this.link.events, from)}`);
    return event.msg as M;
  }

  /**
   * STATUS_REQUEST, its STATUS, then a quiet window. A reader handles frames in order, so anything
   * it does for the frames before (a TXN_ENDED, card data) is on the line before this STATUS.
   */
  async barrier(): Promise<StatusMessage> {
    const from = this.link.mark();
    await this.expectAck({ kind: 'STATUS_REQUEST' });
    const status = await this.expectMessage((m): m is StatusMessage => m.kind === 'STATUS', from, 'STATUS after STATUS_REQUEST');
    await this.link.settle(this.quietMs);
    return status;
  }

  newTxn(amountMinor: bigint): StartTxnMessage {
    const timeoutS = Math.ceil(this.profile.timeouts.cardWaitMs / 1000);
    return { kind: 'START_TXN', txnId: this.nextTxnId(), amountMinor, currencyNumeric: TEST_CURRENCY, timeoutS };
  }

  /** A transaction the reader may be running because of this case: cancelled after it. */
  track(txnId: number): void {
    this.started.add(txnId);
  }

  async startTxn(txn: StartTxnMessage): Promise<void> {
    this.track(txn.txnId);
    await this.expectAck(txn, `START_TXN txnId ${txn.txnId}`);
  }

  /**
   * On a reader that sets the secure-session bit, START_TXN needs an authenticated session: the C
   * cases open one without judging it (S1–S3 do), so a transaction case tests the transaction.
   */
  async openCardSession(): Promise<SecureSession | undefined> {
    if (!this.secureReader) return undefined;
    const { nodeNonce, response } = await this.authenticate();
    const key: VerifyingKey = this.settings.readerKey === undefined ? { raw: response.readerKey, pinned: false } : { raw: this.settings.readerKey, pinned: true };
    return { nonces: { nodeNonce, readerNonce: response.readerNonce }, key, response };
  }

  async authenticate(): Promise<{ nodeNonce: Uint8Array; response: AuthResponseMessage }> {
    const nodeNonce = new Uint8Array(randomBytes(SecureSizes.NONCE));
    const from = this.link.mark();
    await this.expectAck({ kind: 'AUTH_CHALLENGE', nodeNonce });
    const response = await this.expectMessage((m): m is AuthResponseMessage => m.kind === 'AUTH_RESPONSE', from, 'AUTH_RESPONSE to AUTH_CHALLENGE');
    return { nodeNonce, response };
  }

  /**
   * The card data of this transaction: SEALED_CARD in a secure session, CARD_DATA otherwise. A
   * TXN_ENDED of the transaction or an ERROR ends the wait at once, as it ends a payment, and so
   * does card data of another txnId unless the case expects some (C11's superseded transaction).
   */
  async expectCard(txn: StartTxnMessage, from: number, session: SecureSession | undefined, otherTxns: 'fail' | 'ignore' = 'fail'): Promise<CardMessage> {
    const waitMs = this.profile.timeouts.cardWaitMs + this.answerMs;
    const hint = setTimeout(() => this.settings.progress(`${this.label}: waiting up to ${Math.ceil(waitMs / 1000)} s for card data of txnId ${txn.txnId}: present a card to the reader`), CARD_HINT_AFTER_MS);
    let event: LinkEvent | undefined;
    try {
      event = await this.link.waitFor(
        (e) => {
          if (e.kind === 'refused') return e.type === MessageType.CARD_DATA || e.type === MessageType.SEALED_CARD;
          if (e.kind !== 'message') return false;
          const { msg } = e;
          if (msg.kind === 'CARD_DATA' || msg.kind === 'SEALED_CARD') return msg.txnId === txn.txnId || otherTxns === 'fail';
          return (msg.kind === 'TXN_ENDED' && msg.txnId === txn.txnId) || msg.kind === 'ERROR';
        },
        waitMs,
        from,
      );
    } finally {
      clearTimeout(hint);
    }
    const expected = `${session === undefined ? 'CARD_DATA' : 'SEALED_CARD'} for txnId ${txn.txnId}`;
    if (event === undefined) fail(`expected ${expected} within ${waitMs} ms, ${describeSince(this.link.events, from)}`);
    if (event.kind === 'refused') fail(`expected ${expected}, came a frame of TYPE ${typeHex(event.type)} the runner NAKed with ${event.nakReason}: ${event.problem}`);
    if (event.kind !== 'message') fail(`expected ${expected}`);
    const msg = event.msg;
    if ((msg.kind !== 'CARD_DATA' && msg.kind !== 'SEALED_CARD') || msg.txnId !== txn.txnId) fail(`expected ${expected}, came ${describeMessage(msg)}`);
    if (session !== undefined && msg.kind === 'CARD_DATA') {
      fail(`expected ${expected} on an authenticated session, came CARD_DATA: a reader that sets the secure-session bit never sends card data in clear`);
    }
    if (session === undefined && msg.kind === 'SEALED_CARD') fail(`expected ${expected}, came SEALED_CARD on a session without authentication`);
    return msg;
  }

  /** Brings the reader back to idle for the next case: CANCEL for every transaction this case started. */
  async cleanup(): Promise<void> {
    for (const txnId of this.started) {
      try {
        await this.link.send({ kind: 'CANCEL', txnId });
      } catch (error) {
        if (isConformanceError(error, 'EDGEPAY_CONFORMANCE_LINE_GONE')) throw error;
      }
    }
    this.started.clear();
  }
}
