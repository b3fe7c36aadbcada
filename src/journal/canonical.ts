import { createHash } from 'node:crypto';
import type { JournalEntry } from './entry.js';

/**
 * The canonical encoding is a JSON array with the fields in a fixed order, tagged with its format
 * version. JSON.stringify is deterministic for the value types used here (strings, safe integers,
 * null), so any implementation that builds the same array gets the same bytes, and a verifier in
 * another language needs nothing but a JSON encoder and SHA-256.
 */
export const CANONICAL_FORMAT = 'ep1';

export type HashedFields = Omit<JournalEntry, 'hash'>;

export function canonicalEncoding(entry: HashedFields): string {
  return JSON.stringify([
    CANONICAL_FORMAT,
    entry.seq,
    entry.nodeId,
    entry.kind,
    entry.idempotencyKey,
    entry.refSeq,
    entry.lane,
    entry.reference,
    entry.amountMinor,
    entry.currency,
    entry.cardToken,
    entry.cardBin,
    entry.cardLast4,
    entry.sealedCard === null ? null : Buffer.from(entry.sealedCard.buffer, entry.sealedCard.byteOffset, entry.sealedCard.byteLength).toString('base64'),
    entry.decision.approved ? 1 : 0,
    entry.decision.code,
    entry.decision.reason,
    entry.decision.rule,
    entry.decision.mode,
    entry.wallMs,
    entry.monoUs,
  ]);
}

/** SHA-256(prevHash bytes || canonical encoding); the writer passes the previous hash as bytes it already holds. */
export function entryHashBytes(entry: HashedFields, prevHash: Buffer): Buffer {
  return createHash('sha256').update(prevHash).update(canonicalEncoding(entry), 'utf8').digest();
}

/** hash = SHA-256(prevHash bytes || canonical encoding), hex. */
export function entryHash(entry: HashedFields): string {
  return entryHashBytes(entry, Buffer.from(entry.prevHash, 'hex')).toString('hex');
}
