/** What a journal entry records. Kinds follow the card-payment life cycle. */
export const ENTRY_KINDS = ['authorization', 'capture', 'void', 'refund'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export type DecisionMode = 'offline' | 'online';

/** The decision as stored; the journal keeps codes and rules as plain strings it does not interpret. */
export interface EntryDecision {
  readonly approved: boolean;
  readonly code: string;
  readonly reason: string;
  readonly rule: string;
  readonly mode: DecisionMode;
}

/** What a writer supplies; the journal adds sequence, timestamps and the chain. */
export interface EntryDraft {
  readonly kind: EntryKind;
  readonly idempotencyKey: string;
  /** The entry this one follows up (capture, void, refund), or null for an authorization. */
  readonly refSeq: number | null;
  readonly lane: string | null;
  readonly reference: string | null;
  readonly amountMinor: number;
  readonly currency: string;
  readonly cardToken: string;
  readonly cardBin: string;
  readonly cardLast4: string;
  /** Card data sealed to the centre's public key; null for follow-ups, which refer to the original. */
  readonly sealedCard: Uint8Array | null;
  readonly decision: EntryDecision;
}

export interface JournalEntry extends EntryDraft {
  readonly seq: number;
  readonly nodeId: string;
  readonly wallMs: number;
  /** Monotonic microseconds of this process run; orders entries within a run even if the wall clock jumps. */
  readonly monoUs: number;
  /** Hex SHA-256 of the previous entry (64 zeros for the first). */
  readonly prevHash: string;
  /** Hex SHA-256 over prevHash and this entry's canonical encoding. */
  readonly hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);
