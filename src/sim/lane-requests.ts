import type { Payment, PaymentRequestBody, PaymentStatus } from '../lanes/payment.js';
import type { SimNode } from './sim-node.js';

/**
 * Who sent a request at a lane under a sale's idempotency key: the sale's own till (`sale`, every
 * attempt), or the box's other till sending it again at nearly the same moment, with the same
 * body (`same-lane`: must join), the same body at the other lane (`other-lane`: a different body,
 * must be refused) or another amount (`other-amount`: must be refused).
 */
export type RequestRole = 'sale' | DoubledRole;
export const DOUBLED_ROLES = ['same-lane', 'other-lane', 'other-amount'] as const;
export type DoubledRole = (typeof DOUBLED_ROLES)[number];

/** What one request at a lane got back. */
export type LaneAnswer =
  /** A payment: decided, or ended without a decision (failed, cancelled). */
  | {
      readonly kind: 'payment';
      readonly status: PaymentStatus;
      readonly lane: string;
      readonly amountMinor: number;
      readonly journalSeq: number | null;
      readonly approved: boolean | null;
      readonly code: string | null;
      readonly mode: string | null;
      readonly errorCode: string | null;
    }
  /** Refused by the node with an error code before or instead of a payment (a conflicting key, no reader, the lane busy). */
  | { readonly kind: 'refused'; readonly code: string }
  /** Nothing: the box was down, or died before answering. */
  | { readonly kind: 'none'; readonly why: string };

export interface LaneRequest {
  readonly node: string;
  readonly key: string;
  readonly role: RequestRole;
  readonly lane: string;
  readonly amountMinor: number;
  readonly answer: LaneAnswer;
  /** The number of the box's disk when the answer came (SimNode.disk). */
  readonly disk: number;
}

export interface DoubledTally {
  /** Doubled requests sent. */
  sent: number;
  /** Same body, same lane: answered with the sale's own payment. */
  joined: number;
  /** Another lane or amount: refused as an idempotency conflict. */
  refused: number;
  /** The box was down or died before answering. */
  unanswered: number;
  /** Not sent: the sale's own request had been refused or gone unanswered, so there was nothing running to double. */
  skipped: number;
}

/** Every request the tills sent at a lane and what it got, in the order answered. */
export class LaneRequestLog {
  private readonly requests: LaneRequest[] = [];
  readonly doubled: DoubledTally = { sent: 0, joined: 0, refused: 0, unanswered: 0, skipped: 0 };
  private doubledWaiting = 0;

  /** Doubled requests sent and not answered yet: the store has not settled while any is. */
  get doubledInFlight(): number {
    return this.doubledWaiting;
  }

  all(): readonly LaneRequest[] {
    return this.requests;
  }

  /** Sends a request at a lane of the box and records what it got; never rejects. */
  async ask(node: SimNode, role: RequestRole, body: PaymentRequestBody): Promise<LaneAnswer> {
    if (role !== 'sale') {
      this.doubled.sent++;
      this.doubledWaiting++;
    }
    const answer = await node.payAtLane(body).then(
      (payment): LaneAnswer => (payment === undefined ? { kind: 'none', why: 'box down' } : answerOf(payment)),
      (error: unknown): LaneAnswer => {
        const code = (error as { code?: unknown }).code;
        // Only the box's death rejects without a code: the POS's connection dropped.
        return typeof code === 'string' ? { kind: 'refused', code } : { kind: 'none', why: 'box died before answering' };
      },
    );
    this.requests.push({ node: node.id, key: body.idempotencyKey, role, lane: body.lane, amountMinor: body.amountMinor, answer, disk: node.disk });
    if (role !== 'sale') {
      this.doubledWaiting--;
      this.countDoubled(role, answer);
    }
    return answer;
  }

  private countDoubled(role: DoubledRole, answer: LaneAnswer): void {
    if (answer.kind === 'none') this.doubled.unanswered++;
    else if (role === 'same-lane' && answer.kind === 'payment') this.doubled.joined++;
    else if (role !== 'same-lane' && answer.kind === 'refused' && answer.code === 'EDGEPAY_IDEMPOTENCY_CONFLICT') this.doubled.refused++;
  }
}

function answerOf(payment: Payment): LaneAnswer {
  return {
    kind: 'payment',
    status: payment.status,
    lane: payment.lane,
    amountMinor: payment.amountMinor,
    journalSeq: payment.journalSeq,
    approved: payment.decision?.approved ?? null,
    code: payment.decision?.code ?? null,
    mode: payment.decision?.mode ?? null,
    errorCode: payment.error?.code ?? null,
  };
}
