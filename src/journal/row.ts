import type { EntryKind, JournalEntry, DecisionMode } from './entry.js';

/** The entries table's row as better-sqlite3 returns it. */
export interface EntryRow {
  seq: number;
  node_id: string;
  kind: string;
  idempotency_key: string;
  ref_seq: number | null;
  lane: string | null;
  reference: string | null;
  amount_minor: number;
  currency: string;
  card_token: string;
  card_bin: string;
  card_last4: string;
  sealed_card: Buffer | null;
  approved: number;
  decision_code: string;
  decision_reason: string;
  decision_rule: string;
  decision_mode: string;
  wall_ms: number;
  mono_us: number;
  prev_hash: Buffer;
  hash: Buffer;
}

export const ENTRY_COLUMNS =
  'seq, node_id, kind, idempotency_key, ref_seq, lane, reference, amount_minor, currency, card_token, card_bin, ' +
  'card_last4, sealed_card, approved, decision_code, decision_reason, decision_rule, decision_mode, wall_ms, ' +
  'mono_us, prev_hash, hash';

export const INSERT_ENTRY_SQL =
  `INSERT INTO entries (${ENTRY_COLUMNS}) VALUES (@seq, @node_id, @kind, @idempotency_key, @ref_seq, @lane, ` +
  '@reference, @amount_minor, @currency, @card_token, @card_bin, @card_last4, @sealed_card, @approved, ' +
  '@decision_code, @decision_reason, @decision_rule, @decision_mode, @wall_ms, @mono_us, @prev_hash, @hash)';

export function rowToEntry(row: EntryRow): JournalEntry {
  return {
    seq: row.seq,
    nodeId: row.node_id,
    kind: row.kind as EntryKind,
    idempotencyKey: row.idempotency_key,
    refSeq: row.ref_seq,
    lane: row.lane,
    reference: row.reference,
    amountMinor: row.amount_minor,
    currency: row.currency,
    cardToken: row.card_token,
    cardBin: row.card_bin,
    cardLast4: row.card_last4,
    sealedCard: row.sealed_card === null ? null : new Uint8Array(row.sealed_card),
    decision: {
      approved: row.approved === 1,
      code: row.decision_code,
      reason: row.decision_reason,
      rule: row.decision_rule,
      mode: row.decision_mode as DecisionMode,
    },
    wallMs: row.wall_ms,
    monoUs: row.mono_us,
    prevHash: row.prev_hash.toString('hex'),
    hash: row.hash.toString('hex'),
  };
}

/**
 * The same columns for bulk reads, with the hashes as hex text from SQLite: read in raw (array)
 * mode, a row costs a fraction of an object row with three Buffers, which matters when a backlog
 * of a million entries is read for the centre.
 */
export const BULK_ENTRY_COLUMNS = ENTRY_COLUMNS.replace('prev_hash, hash', 'lower(hex(prev_hash)), lower(hex(hash))');

type BulkRow = [
  seq: number,
  nodeId: string,
  kind: string,
  idempotencyKey: string,
  refSeq: number | null,
  lane: string | null,
  reference: string | null,
  amountMinor: number,
  currency: string,
  cardToken: string,
  cardBin: string,
  cardLast4: string,
  sealedCard: Buffer | null,
  approved: number,
  code: string,
  reason: string,
  rule: string,
  mode: string,
  wallMs: number,
  monoUs: number,
  prevHash: string,
  hash: string,
];

/** A row of BULK_ENTRY_COLUMNS read with `.raw(true)`. */
export function bulkRowToEntry(values: unknown[]): JournalEntry {
  const [seq, nodeId, kind, idempotencyKey, refSeq, lane, reference, amountMinor, currency, cardToken, cardBin, cardLast4, sealedCard, approved, code, reason, rule, mode, wallMs, monoUs, prevHash, hash] =
    values as BulkRow;
  return {
    seq,
    nodeId,
    kind: kind as EntryKind,
    idempotencyKey,
    refSeq,
    lane,
    reference,
    amountMinor,
    currency,
    cardToken,
    cardBin,
    cardLast4,
    sealedCard,
    decision: { approved: approved === 1, code, reason, rule, mode: mode as DecisionMode },
    wallMs,
    monoUs,
    prevHash,
    hash,
  };
}
