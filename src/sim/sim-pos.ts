import type { PosPayment } from '../audit/store-checks.js';
import type { CardFacts } from '../card/card-facts.js';
import { type RandomSource, between, pick } from '../platform/random.js';
import { DoubledRequests } from './doubled-requests.js';
import { LaneRequestLog } from './lane-requests.js';
import type { SimScheduler } from './scheduler.js';
import type { SimNode } from './sim-node.js';

/** A POS payment: at the lane's reader (the card read there), or with a card the POS hands over already captured. */
export type SimPayment = PosPayment & { readonly lane: string } & ({ readonly viaReader: true } | { readonly viaReader: false; readonly card: CardFacts });
export type CapturedPayment = Extract<SimPayment, { viaReader: false }>;
type ReaderPayment = Extract<SimPayment, { viaReader: true }>;

export const OUTCOMES: readonly PosPayment['outcome'][] = ['approved', 'declined', 'failed', 'unknown'];

export interface ReaderTally {
  payments: number;
  /** Requests at a reader that ended without a decision, by why: each was tried again. */
  readonly endedWithoutDecision: Record<string, number>;
}

/** Forty regulars who come back to every lane, so per-card limits and shared exposure bite. */
const REGULARS = 40;

/**
 * The store's tills: one per lane of each box, selling at the lane's reader one sale after the
 * other, and one per box taking card-on-file payments with cards captured elsewhere. It remembers
 * what the POS saw of every payment and every request at a lane, and counts the answers still
 * owed to it: the store has not settled while any is.
 */
export class SimPos {
  private readonly payments = new Map<string, SimPayment>();
  private readonly regulars: CardFacts[];
  private issued = 0;
  private owed = 0;
  readonly readers: ReaderTally = { payments: 0, endedWithoutDecision: {} };
  /** Every request the lanes' tills sent and what it got, doubled ones included. */
  readonly requests = new LaneRequestLog();
  private readonly doubles: DoubledRequests;

  constructor(
    private readonly scheduler: SimScheduler,
    private readonly random: RandomSource,
  ) {
    this.regulars = Array.from({ length: REGULARS }, (_, n) => oneCard(random, n));
    this.doubles = new DoubledRequests(scheduler, random, this.requests);
  }

  /** Answers on their way to the POS (doubled requests' included), and sales waiting to be tried again. */
  get answersOwed(): number {
    return this.owed + this.requests.doubledInFlight;
  }

  all(): SimPayment[] {
    return [...this.payments.values()];
  }

  /**
   * The box's tills, from now while `trading` says so: one per lane, selling at that lane's reader
   * one sale after the other (now and then a sale doubled from the other till, see
   * DoubledRequests), and the card-on-file till.
   */
  openTills(node: SimNode, trading: () => boolean): void {
    const { scheduler, random } = this;
    for (const lane of node.laneIds) {
      const nextAtReader = (): void => {
        if (!trading()) return;
        this.payAtLane(node, this.newAtReader(node, lane), () => scheduler.after(between(random, 20, 400), nextAtReader));
      };
      scheduler.after(between(random, 0, 100), nextAtReader);
    }
    const nextCaptured = (): void => {
      if (!trading()) return;
      this.payCaptured(node, this.newCaptured(node));
      scheduler.after(between(random, 100, 800), nextCaptured);
    };
    scheduler.after(between(random, 0, 100), nextCaptured);
  }

  /** A card-on-file payment; a third of the customers are regulars, seen at every lane, the rest come once. */
  newCaptured(node: SimNode, card?: CardFacts): CapturedPayment {
    const chosen = card ?? (this.random.int(3) === 0 ? this.regular() : oneCard(this.random, this.issued));
    const payment: CapturedPayment = { ...this.fresh(node), viaReader: false, card: chosen };
    this.payments.set(payment.key, payment);
    return payment;
  }

  regular(): CardFacts {
    return pick(this.random, this.regulars);
  }

  requestOf(payment: CapturedPayment): Record<string, unknown> {
    return { idempotencyKey: payment.key, amountMinor: payment.amountMinor, currency: 'EUR', card: payment.card, lane: payment.lane, reference: payment.key };
  }

  /** Sends a captured card's payment; the answer reaches the POS a hop later, unless the box died meanwhile. */
  payCaptured(node: SimNode, payment: CapturedPayment): void {
    payment.attempts++;
    this.owed++;
    node
      .pay(this.requestOf(payment))
      .then((outcome) => {
        if (outcome === undefined || outcome.entry === null) return void this.owed--;
        this.scheduler.after(between(this.random, 0, 5), () => {
          this.owed--;
          if (!node.up) return;
          payment.outcome = outcome.decision.approved ? 'approved' : 'declined';
          payment.code = outcome.decision.code;
          payment.mode = outcome.decision.mode;
        });
      })
      .catch(() => {
        this.owed--;
      });
  }

  /** After healing: every captured card's payment without an answer is asked again, same key. Sales at a reader retry by themselves. */
  askAgainUnanswered(nodes: readonly SimNode[]): void {
    for (const payment of this.payments.values()) {
      if (payment.outcome === 'unknown' && !payment.viaReader) this.payCaptured(nodes.find((n) => n.id === payment.node)!, payment);
    }
  }

  /**
   * A sale at a lane's reader, as its till runs it, one at a time. No answer (the box down or
   * dying) or refused for a passing reason (no reader, the lane busy): asked again with the same
   * key until it has one. Ended without a decision (reader gone, card unreadable): that payment is
   * over, and the sale is tried again as a new payment. Refused as an idempotency conflict: the
   * key is not this sale's to retry under, so the sale is tried again under a new one too.
   */
  private payAtLane(node: SimNode, payment: ReaderPayment, done: () => void): void {
    const { scheduler, random } = this;
    payment.attempts++;
    this.owed++;
    const later = (run: () => void): void => {
      // Still owed: the store has not settled while the customer waits to tap again.
      scheduler.after(between(random, 300, 2_000), () => {
        this.owed--;
        run();
      });
    };
    const askAgain = (why: string): void => {
      this.endedWithoutDecision(why);
      later(() => this.payAtLane(node, payment, done));
    };
    const sellAgain = (code: string): void => {
      payment.outcome = 'failed';
      payment.code = code;
      this.endedWithoutDecision(code);
      later(() => this.payAtLane(node, this.newAtReader(node, payment.lane, payment.amountMinor), done));
    };
    const body = { idempotencyKey: payment.key, lane: payment.lane, amountMinor: payment.amountMinor, currency: 'EUR', reference: payment.key };
    const sent = this.requests.ask(node, 'sale', body);
    if (payment.attempts === 1) this.doubles.maybeDouble(node, body, sent);
    void sent.then((answer) => {
      if (answer.kind === 'none') return askAgain(answer.why);
      if (answer.kind === 'refused') return answer.code === 'EDGEPAY_IDEMPOTENCY_CONFLICT' ? sellAgain(answer.code) : askAgain(answer.code);
      if (answer.approved === null) return sellAgain(answer.errorCode ?? answer.status);
      const approved = answer.approved;
      const code = answer.code;
      scheduler.after(between(random, 0, 5), () => {
        if (!node.up) return askAgain('box died before answering');
        this.owed--;
        payment.outcome = approved ? 'approved' : 'declined';
        payment.code = code;
        payment.mode = answer.mode;
        done();
      });
    });
  }

  private newAtReader(node: SimNode, lane: string, amountMinor?: number): ReaderPayment {
    const payment: ReaderPayment = { ...this.fresh(node), lane, ...(amountMinor === undefined ? {} : { amountMinor }), viaReader: true };
    this.payments.set(payment.key, payment);
    this.readers.payments++;
    return payment;
  }

  private fresh(node: SimNode): PosPayment & { readonly lane: string } {
    return { node: node.id, key: `${node.id}-${this.issued++}`, amountMinor: between(this.random, 100, 9_000), outcome: 'unknown', code: null, mode: null, attempts: 0, lane: node.id };
  }

  private endedWithoutDecision(why: string): void {
    this.readers.endedWithoutDecision[why] = (this.readers.endedWithoutDecision[why] ?? 0) + 1;
  }
}

/** A card as capture hands it over: a keyed token, last 4 and a sealed blob, never the PAN. */
function oneCard(random: RandomSource, n: number): CardFacts {
  return {
    token: Buffer.from(random.bytes(32)).toString('base64url'),
    last4: String(1000 + (n % 9000)),
    expiryYear: 2029,
    expiryMonth: 12,
    checkDigitValid: true,
    sealed: random.bytes(80),
  };
}
