import type { StoreNode } from '../rigs/store/store-node.js';
import type { PosPayment } from '../audit/store-checks.js';
import { type RandomSource, between } from '../platform/random.js';
import type { PosRequest, RequestOutcome } from './pos-request.js';

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
export const REQUEST_TIMEOUT_MS = 4_000;
/**
 * A request counts as served when its decision came within this: the availability target's bound
 * (a customer at the till), shorter than what the POS waits before it gives up.
 */
export const SERVED_WITHIN_MS = 2_000;
/** The lane every box's POS pays at: each box of the chaos store has one. */
export const POS_LANE = 'lane-1';
/** After a failed request the lane waits a little, as a cashier would, instead of hammering a dead box. */
const AFTER_FAILURE_MS = 300;
const AMOUNT_RANGE = { min: 100, max: 9_000 } as const;

/**
 * One POS per box, paying one customer after the other at its lane, recording what it saw.
 * A request without an answer leaves the payment unknown, as at a real till; `settle` asks again
 * for each with the same idempotency key once the store is healed, as a POS does on recovery.
 * Every request sent while trading is logged (`requests`) for the availability report; a round of
 * minutes is at most tens of thousands of them, a few MB. Settling's requests, made on a store
 * healed on purpose after the round, are not: they would measure the healing, not the faults.
 */
export class PosLoad {
  readonly payments = new Map<string, PosPayment>();
  readonly requests: PosRequest[] = [];
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
        if (node !== undefined) await this.request(node, payment, false);
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
      await this.request(node, payment, true);
      if (payment.outcome === 'unknown') await new Promise((resolve) => setTimeout(resolve, AFTER_FAILURE_MS));
    }
  }

  private async request(node: StoreNode, payment: PosPayment, logged: boolean): Promise<void> {
    payment.attempts++;
    const sentMs = Date.now();
    const seen = await this.ask(node, payment);
    const endMs = Date.now();
    if (logged) this.requests.push({ box: node.id, lane: POS_LANE, sentMs, endMs, latencyMs: endMs - sentMs, ...seen });
  }

  /** One request; the payment is updated with what it settled, the result says what the POS saw. */
  private async ask(node: StoreNode, payment: PosPayment): Promise<{ outcome: RequestOutcome; detail: string | null }> {
    let response: Response;
    let body: { status?: string; decision?: { approved: boolean; code: string; mode: string } | null; error?: { code?: string } | null };
    try {
      response = await fetch(`${node.apiUrl}/v1/payments`, {
        method: 'POST',
        headers: { ...node.apiHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ lane: POS_LANE, amountMinor: payment.amountMinor, currency: CURRENCY, reference: payment.key, idempotencyKey: payment.key }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      body = (await response.json()) as typeof body;
    } catch (error) {
      // No answer: the payment stays unknown and is asked for again.
      if (error instanceof Error && error.name === 'TimeoutError') return { outcome: 'timeout', detail: null };
      if (error instanceof SyntaxError) return { outcome: 'http-error', detail: 'an answer that is not JSON' };
      return { outcome: 'unreachable', detail: networkCause(error) };
    }
    const decision = body.decision;
    if (decision === null || decision === undefined) {
      // Ended without a decision (reader gone, the box stopped mid-payment): no money moved, and
      // the key is over, also after a restart; the lane sells again under a new key.
      if (body.status === 'failed' || body.status === 'cancelled') {
        payment.outcome = 'failed';
        payment.code = body.error?.code ?? body.status;
        return { outcome: body.status, detail: payment.code };
      }
      return { outcome: 'http-error', detail: `${response.status}${body.error?.code === undefined ? '' : ` ${body.error.code}`}` };
    }
    payment.outcome = decision.approved ? 'approved' : 'declined';
    payment.code = decision.code;
    payment.mode = decision.mode;
    return { outcome: payment.outcome, detail: null };
  }
}

/** What fetch's "fetch failed" hides: ECONNREFUSED, ECONNRESET, a body cut short. */
function networkCause(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
