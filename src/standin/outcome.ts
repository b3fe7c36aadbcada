import type { Decision } from '../authorize/codes.js';
import type { ErrorCode } from '../errors.js';
import type { JournalEntry } from '../journal/entry.js';

/** The answer for the reader: always a decision, and the durable entry behind it when there is one. */
export interface Outcome {
  readonly decision: Decision;
  /** The journal entry; null only when the journal could not record the decision (then it is a 91 decline). */
  readonly entry: JournalEntry | null;
  /** True when the idempotency key had been seen: this is the original decision, nothing new was written. */
  readonly replayed: boolean;
  /** Why the journal could not record, when entry is null. */
  readonly failure?: { readonly code: ErrorCode; readonly message: string };
  /** With quorum acknowledgement on: whether a majority of the reachable peers held the entry first. */
  readonly quorum?: { readonly reached: boolean; readonly held: number; readonly reachable: number; readonly needed: number; readonly waitedMs: number };
}

export function decisionOf(entry: JournalEntry): Decision {
  return entry.decision as Decision;
}
