import type { StoreNode } from '../demo/store/store-node.js';
import type { PosPayment } from '../audit/store-checks.js';
import { type RandomSource, between } from '../platform/random.js';

export interface PosTally {
  readonly payments: number;
  readonly approved: number;
  readonly declined: number;
  /** Ended without a decision (no money moved): sold again under a new key. */
  readonly failed: number;
  readonly unknown: number;
  /** Payments that needed more than one request before the POS knew their outcome. */
  readonly retried: number;
}

export const CURRENCY = 'EUR';
/** A POS gives up on one request after this long and asks again later with the same key. */
const REQUEST_TIMEOUT_MS = 4_000;
/** After a failed request the lane waits a little, as a cashier would, instead of hammering a dead box. */
const AFTER_FAILURE_MS = 300;
const AMOUNT_RANGE = { min: 100, max: 9_000 } as const;

/**
 * One POS per box, paying one customer after the other at its lane, recording what it saw.
 * A request without an answer leaves the payment unknown, as at a real till; `settle` asks again
 * for each with the same idempotency key once the store is healed, as a POS does on recovery.
 */
export class PosLoad {
  readonly payments = new Map<string, PosPayment>();
  private stopped = false;
  private readonly lanes: Promise<void>[] = [];
  private issued = 0;

  constructor(
    private readonly nodes: readonly StoreNode[],
    private readonly random: RandomSource,
  ) {}

  start(): void {
    for (const node of this.nodes) this.lanes.push(this.lane(node));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.lanes);
  }

  /** Asks again for every unknown payment until each has an answer or `deadlineMs` passes. */
  async settle(deadlineMs: number): Promise<void> {
    for (;;) {
      const unknown = [...this.payments.values()].filter((p) => p.outcome === 'unknown');
      if (unknown.length === 0 || Date.now() > deadlineMs) return;
      for (const payment of unknown) {
        const node = this.nodes.find((n) => n.id === payment.node);
        if (node !== undefined) await this.request(node, payment);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  tally(): PosTally {
    const all = [...this.payments.values()];
    return {
      payments: all.length,
      approved: all.filter((p) => p.outcome === 'approved').length,
      declined: all.filter((p) => p.outcome === 'declined').length,
      failed: all.filter((p) => p.outcome === 'failed').length,
      unknown: all.filter((p) => p.outcome === 'unknown').length,
      retried: all.filter((p) => p.attempts > 1).length,
    };
  }

  private async lane(node: StoreNode): Promise<void> {
    while (!this.stopped) {
      const payment: PosPayment = { node: node.id, key: `${node.id}-pay-${this.issued++}`, amountMinor: between(this.random, AMOUNT_RANGE.min, AMOUNT_RANGE.max), outcome: 'unknown', code: null, mode: null, attempts: 0 };
      this.payments.set(payment.key, payment);
      await this.request(node, payment);
      if (payment.outcome === 'unknown') await new Promise((resolve) => setTimeout(resolve, AFTER_FAILURE_MS));
    }
  }

  private async request(node: StoreNode, payment: PosPayment): Promise<void> {
    payment.attempts++;
    try {
      const response = await fetch(`${node.apiUrl}/v1/payments`, {
        method: 'POST',
        headers: { ...node.apiHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ lane: 'lane-1', amountMinor: payment.amountMinor, currency: CURRENCY, reference: payment.key, idempotencyKey: payment.key }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = (await response.json()) as { status?: string; decision?: { approved: boolean; code: string; mode: string } | null; error?: { code?: string } | null };
      const decision = body.decision;
      if (decision === null || decision === undefined) {
        // Ended without a decision (reader gone, the box stopped mid-payment): no money moved, and
        // the key is over, also after a restart; the lane sells again under a new key.
        if (body.status === 'failed' || body.status === 'cancelled') {
          payment.outcome = 'failed';
          payment.code = body.error?.code ?? body.status;
        }
        return;
      }
      payment.outcome = decision.approved ? 'approved' : 'declined';
      payment.code = decision.code;
      payment.mode = decision.mode;
    } catch {
      // No answer: the payment stays unknown and is asked for again.
    }
  }
}
