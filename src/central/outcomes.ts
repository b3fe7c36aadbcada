/** Why the centre refused an offline approval after the fact; the operator sees each one as an exception. */
export const EXCEPTION_REASONS = ['hot_listed', 'insufficient_funds', 'past_forward_deadline', 'duplicate', 'online_unrecorded'] as const;
export type ExceptionReason = (typeof EXCEPTION_REASONS)[number];

/**
 * What became of one forwarded entry:
 * - settled: posted to the merchant against card clearing;
 * - exception: an offline approval the centre refused after the fact (posted to offline risk,
 *   except a duplicate or an online approval the centre has no record of, neither of which is
 *   posted at all) and listed for the operator;
 * - recorded: held with no money moved (a decline, a capture, a follow-up with nothing to reverse).
 */
export type EntryResult = 'settled' | 'exception' | 'recorded';

export interface EntryOutcome {
  readonly seq: number;
  readonly result: EntryResult;
  /** For exceptions, an ExceptionReason; for recorded entries, why nothing moved. */
  readonly reason: string | null;
  /** Minor units posted to the merchant by this entry: positive for sales, negative for reversals. */
  readonly merchantMinor: number;
}
