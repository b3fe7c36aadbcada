import { randomBytes } from 'node:crypto';
import type { EntryRow } from '../journal/row.js';

/**
 * Rows sized like the pipeline's: an 80-byte sealed blob, 32-byte hashes, a 43-character token and
 * a decision reason as long as a real approval's. SQLite's cost depends on sizes and on the unique
 * index, not on whether the hashes chain, so the blobs are shared between rows.
 */
const SEALED = randomBytes(80);
const PREV_HASH = randomBytes(32);
const HASH = randomBytes(32);
const TOKEN = randomBytes(32).toString('base64url');
const REASON = 'approved offline: 49.99 EUR within floor limit 10000.00 EUR; card 1/1000000 approvals and 49.99 EUR of ' + '10000000000.00 EUR in 1440 min; node 1234/1000000000 stored';

export function sampleRow(seq: number, keyPrefix: string): EntryRow {
  return {
    seq,
    node_id: 'bench-node',
    kind: 'authorization',
    idempotency_key: `${keyPrefix}-${seq}`,
    ref_seq: null,
    lane: 'lane-1',
    reference: `r-${seq}`,
    amount_minor: 100 + (seq % 9_900),
    currency: 'EUR',
    card_token: TOKEN,
    card_bin: '',
    card_last4: '1234',
    sealed_card: SEALED,
    approved: 1,
    decision_code: 'Y3',
    decision_reason: REASON,
    decision_rule: 'approved',
    decision_mode: 'offline',
    wall_ms: Date.now(),
    mono_us: seq,
    prev_hash: PREV_HASH,
    hash: HASH,
  };
}
