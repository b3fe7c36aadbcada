import { randomBytes } from 'node:crypto';
import type { Journal } from '../journal/journal.js';

const PER_TRANSACTION = 10_000;
const CURRENCIES = ['EUR', 'GBP'] as const;

/**
 * A backlog as a long offline spell leaves it: mostly approved sales over many cards, some
 * declines, voids and refunds of earlier sales, two currencies, with an 80-byte sealed card on
 * each sale. Written through the journal's own batch writer, so the chain is the real one.
 */
export function fillBacklog(journal: Journal, entries: number, onProgress?: (written: number) => void): void {
  const sealed = new Uint8Array(randomBytes(80));
  let written = journal.chainHead().seq;
  const target = written + entries;
  while (written < target) {
    const count = Math.min(PER_TRANSACTION, target - written);
    journal.writeBatch((writer) => {
      for (let i = 0; i < count; i++) {
        const n = written + i + 1;
        // Every 50th entry voids the sale two before it, every 50th + 25 refunds part of one: follow-ups the centre must pair.
        const followUp = n > 2 && n % 50 === 0 ? 'void' : n > 2 && n % 50 === 25 ? 'refund' : undefined;
        const declined = n % 17 === 0;
        // A follow-up is in its original's currency, as the node writes it.
        const currency = currencyOf(followUp === undefined ? n : n - 2);
        writer.appendOrFind({
          kind: followUp ?? 'authorization',
          idempotencyKey: `bench-${n}`,
          refSeq: followUp === undefined ? null : n - 2,
          lane: `lane-${(n % 4) + 1}`,
          reference: null,
          amountMinor: followUp === 'refund' ? 100 : 500 + (n % 9_500),
          currency,
          cardToken: `tok-${n % 20_011}`,
          cardBin: '',
          cardLast4: String(n % 10_000).padStart(4, '0'),
          sealedCard: followUp === undefined ? sealed : null,
          decision: declined
            ? { approved: false, code: 'Z3', reason: 'declined offline: velocity', rule: 'velocity', mode: 'offline' }
            : { approved: true, code: 'Y3', reason: 'approved offline', rule: 'approved', mode: 'offline' },
        });
      }
    });
    written += count;
    onProgress?.(written);
  }
}

function currencyOf(n: number): string {
  return CURRENCIES[n % 10 === 0 ? 1 : 0];
}
