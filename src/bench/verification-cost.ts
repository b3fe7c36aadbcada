import type { KeyObject } from 'node:crypto';
import { checkBatch, totalsOf } from '../central/batch.js';
import { type RegisteredNode, authenticateBatch } from '../central/node-registry.js';
import type { JournalEntry } from '../journal/entry.js';
import { signEntry } from '../wire/envelope.js';
import { roundTo } from './latency.js';

export interface VerificationCost {
  /** Entries per verified batch in this measurement. */
  readonly batchEntries: number;
  /** Recomputing every entry's hash and link (the chain check), per entry. */
  readonly chainUsPerEntry: number;
  /** Registry lookup result in hand: the one Ed25519 verification, per batch. */
  readonly signatureUsPerBatch: number;
  /** Both together, spread over the batch's entries: what verification adds to each posted entry. */
  readonly usPerEntry: number;
}

/**
 * The centre's per-batch verification measured on its own, outside the ledger transaction: the
 * same functions the centre runs, on a real batch of the backlog, repeated until it takes long
 * enough to time.
 */
export function measureVerification(entries: readonly JournalEntry[], origin: RegisteredNode, signingKey: KeyObject): VerificationCost {
  const last = entries[entries.length - 1]!;
  const batch = { batchId: 'measure', store: origin.store, origin: origin.nodeId, sender: origin.nodeId, entries, totals: totalsOf(entries), signature: signEntry(last, signingKey) };
  const time = (work: () => unknown, minMs = 200): number => {
    let rounds = 0;
    const started = performance.now();
    do {
      if (work() !== undefined) throw new Error('the measured batch failed verification');
      rounds++;
    } while (performance.now() - started < minMs);
    return ((performance.now() - started) * 1000) / rounds;
  };
  const chainUsPerBatch = time(() => checkBatch(batch));
  const signatureUsPerBatch = time(() => authenticateBatch(batch, origin, origin));
  return {
    batchEntries: entries.length,
    chainUsPerEntry: roundTo(chainUsPerBatch / entries.length, 3),
    signatureUsPerBatch: roundTo(signatureUsPerBatch, 1),
    usPerEntry: roundTo((chainUsPerBatch + signatureUsPerBatch) / entries.length, 3),
  };
}
