import type { Payment } from './payment.js';
import { isFinal } from './payment.js';

/**
 * Payments this node has seen since it started, by idempotency key: those in progress (with the
 * promise of their outcome, so a retried request joins it) and a bounded window of finished ones.
 * Older finished payments are answered from the journal, which keeps every decision for ever, or
 * from the lanes' record (PaymentOutcomes), which keeps every other ending.
 */
export class PaymentStore {
  private readonly payments = new Map<string, { payment: Payment; done: Promise<Payment> }>();

  constructor(private readonly maxFinished = 10_000) {}

  get(id: string): { payment: Payment; done: Promise<Payment> } | undefined {
    return this.payments.get(id);
  }

  start(payment: Payment, done: Promise<Payment>): void {
    this.payments.set(payment.id, { payment, done });
  }

  update(payment: Payment): void {
    const slot = this.payments.get(payment.id);
    if (slot) slot.payment = payment;
    if (isFinal(payment.status)) this.evict();
  }

  inProgress(): Payment[] {
    return [...this.payments.values()].map((s) => s.payment).filter((p) => !isFinal(p.status));
  }

  private evict(): void {
    if (this.payments.size <= this.maxFinished) return;
    // Maps iterate in insertion order: the oldest finished payments go first.
    for (const [id, slot] of this.payments) {
      if (this.payments.size <= this.maxFinished) return;
      if (isFinal(slot.payment.status)) this.payments.delete(id);
    }
  }
}
