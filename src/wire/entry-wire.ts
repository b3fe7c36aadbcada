import { z } from 'zod';
import { ENTRY_KINDS, type JournalEntry } from '../journal/entry.js';
import { canonicalBase64 } from '../platform/canonical-base64.js';
import { idSchema } from '../ids.js';

/*
 * A journal entry as JSON on the wire: every field of JournalEntry, the sealed card as base64.
 * Bounds are generous for what the journal writes but finite, so a hostile message costs a
 * bounded amount of parsing and can never reach SQLite with an absurd value.
 */

const HEX_HASH = /^[0-9a-f]{64}$/;
/** The stand-in service accepts sealed cards of up to 4096 bytes; base64 makes that 5464 characters. */
const MAX_SEALED_BASE64 = 5_464;

const seq = z.int().min(1).max(Number.MAX_SAFE_INTEGER);
const text = (max: number) => z.string().max(max);

export const entryJsonSchema = z.strictObject({
  seq,
  nodeId: idSchema(),
  kind: z.enum(ENTRY_KINDS),
  idempotencyKey: text(128).min(1),
  refSeq: seq.nullable(),
  lane: text(64).nullable(),
  reference: text(128).nullable(),
  amountMinor: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  currency: z.string().regex(/^[A-Z]{3}$/),
  cardToken: text(128),
  // '' (NO_CARD_BIN) from nodes that no longer keep it; six digits in entries signed before.
  cardBin: text(16),
  cardLast4: text(8),
  sealedCard: canonicalBase64().max(MAX_SEALED_BASE64).nullable(),
  decision: z.strictObject({
    approved: z.boolean(),
    code: text(16),
    reason: text(1_024),
    rule: text(64),
    mode: z.enum(['offline', 'online']),
  }),
  wallMs: z.int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  monoUs: z.int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  prevHash: z.string().regex(HEX_HASH),
  hash: z.string().regex(HEX_HASH),
});

export type EntryJson = z.output<typeof entryJsonSchema>;

export function toEntryJson(entry: JournalEntry): EntryJson {
  const sealed = entry.sealedCard;
  return {
    seq: entry.seq,
    nodeId: entry.nodeId,
    kind: entry.kind,
    idempotencyKey: entry.idempotencyKey,
    refSeq: entry.refSeq,
    lane: entry.lane,
    reference: entry.reference,
    amountMinor: entry.amountMinor,
    currency: entry.currency,
    cardToken: entry.cardToken,
    cardBin: entry.cardBin,
    cardLast4: entry.cardLast4,
    sealedCard: sealed === null ? null : Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength).toString('base64'),
    decision: {
      approved: entry.decision.approved,
      code: entry.decision.code,
      reason: entry.decision.reason,
      rule: entry.decision.rule,
      mode: entry.decision.mode,
    },
    wallMs: entry.wallMs,
    monoUs: entry.monoUs,
    prevHash: entry.prevHash,
    hash: entry.hash,
  };
}

export function fromEntryJson(json: EntryJson): JournalEntry {
  return {
    ...json,
    sealedCard: json.sealedCard === null ? null : new Uint8Array(Buffer.from(json.sealedCard, 'base64')),
    decision: { ...json.decision },
  };
}
