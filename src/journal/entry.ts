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
  /**
   * NO_CARD_BIN ('') in every entry written now; the first six PAN digits in entries written before
   * the BIN was dropped. The field stays, in its place in the canonical encoding, so those signed,
   * hash-chained entries keep verifying byte for byte.
   */
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

/**
 * The card BIN of a new entry: none. An empty string rather than NULL keeps the format of every
 * file and message as it was: the journal's and the replicas' NOT NULL columns need no table
 * rebuild, the canonical encoding stays 'ep1', and a peer or centre not yet upgraded accepts the
 * entry (its wire schema allows any short string). With token and last 4, a BIN would narrow a PAN
 * to six unknown digits for anyone holding the token key.
 */
export const NO_CARD_BIN = '';
