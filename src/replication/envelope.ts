import { type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import { entryHash } from '../journal/canonical.js';
import type { JournalEntry } from '../journal/entry.js';
import type { RejectReason } from './counters.js';
import { entryJsonSchema, fromEntryJson, toEntryJson } from './entry-wire.js';
import type { KeyRing } from './keys.js';

/**
 * The wire message for one journal entry: the entry, its origin, and the origin's Ed25519
 * signature over (origin, seq, hash). The hash already commits to the content and to the previous
 * entry, so signing it signs the whole chain up to this entry; a receiver recomputes the hash
 * with the journal's own canonical encoding, so a replica keeps the origin's exact chain.
 */
export const ENVELOPE_VERSION = 1;

/** Far above a real entry (about 1 KiB with a sealed card); a larger message is refused unparsed. */
export const MAX_ENVELOPE_BYTES = 16 * 1024;

/** Domain separation: these bytes can never be mistaken for another edgepay signature. */
const SIGNATURE_CONTEXT = 'edgepay/entry-signature/v1';

const envelopeSchema = z.strictObject({
  v: z.literal(ENVELOPE_VERSION),
  origin: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  entry: entryJsonSchema,
  // An Ed25519 signature is 64 bytes: 88 base64 characters.
  sig: z.base64().length(88),
});

/** An entry with its origin's signature: what a replica keeps, so any holder can pass it on verifiably. */
export type SignedEntry = JournalEntry & { readonly signature: Buffer };

/**
 * An entry whose envelope verified: known origin, valid signature, recomputed hash. Only
 * openEnvelope makes these, so the replica store cannot be handed an unchecked entry.
 */
export type VerifiedEntry = SignedEntry & { readonly [verifiedBrand]: true };
declare const verifiedBrand: unique symbol;

export type Opened =
  | { readonly ok: true; readonly origin: string; readonly entry: VerifiedEntry }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string; readonly origin?: string; readonly seq?: number };

/** The exact bytes signed: a JSON array, so every implementation builds the same string. */
export function signedBytes(origin: string, seq: number, hash: string): Buffer {
  return Buffer.from(JSON.stringify([SIGNATURE_CONTEXT, origin, seq, hash]), 'utf8');
}

export function signEntry(entry: JournalEntry, signingKey: KeyObject): Buffer {
  return sign(null, signedBytes(entry.nodeId, entry.seq, entry.hash), signingKey);
}

/** The message for an entry and its origin's signature: the origin publishing, or any holder answering a repair. */
export function encodeEnvelope(entry: SignedEntry): Buffer {
  return Buffer.from(JSON.stringify({ v: ENVELOPE_VERSION, origin: entry.nodeId, entry: toEntryJson(entry), sig: entry.signature.toString('base64') }), 'utf8');
}

/** The message a node publishes for one of its own entries. */
export function sealEnvelope(entry: JournalEntry, signingKey: KeyObject): Buffer {
  return encodeEnvelope({ ...entry, signature: signEntry(entry, signingKey) });
}

/** Checks in order of cost: size and shape, then the key, then the signature, then the hash. */
export function openEnvelope(payload: Uint8Array, keys: KeyRing): Opened {
  if (payload.byteLength > MAX_ENVELOPE_BYTES) return reject('malformed', `${payload.byteLength} bytes is over the ${MAX_ENVELOPE_BYTES}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    return reject('malformed', 'not JSON');
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return reject('malformed', `${first?.path.join('.') || '(root)'}: ${first?.message ?? 'invalid'}`);
  }
  const { origin, entry: wire, sig } = parsed.data;
  const at = { origin, seq: wire.seq };
  if (wire.nodeId !== origin) return reject('malformed', `entry of node ${JSON.stringify(wire.nodeId)} in an envelope from ${JSON.stringify(origin)}`, at);
  const key = keys.get(origin);
  if (key === undefined) return reject('unknown_key', `no public key for node ${JSON.stringify(origin)}`, at);
  const signature = Buffer.from(sig, 'base64');
  if (!verify(null, signedBytes(origin, wire.seq, wire.hash), key, signature)) {
    return reject('bad_signature', `signature does not verify with ${origin}'s key`, at);
  }
  const entry = fromEntryJson(wire);
  const recomputed = entryHash(entry);
  if (recomputed !== entry.hash) return reject('bad_hash', `content hashes to ${recomputed.slice(0, 16)}…, signed hash is ${entry.hash.slice(0, 16)}…`, at);
  return { ok: true, origin, entry: { ...entry, signature } as VerifiedEntry };
}

function reject(reason: RejectReason, detail: string, at: { origin?: string; seq?: number } = {}): Opened {
  return { ok: false, reason, detail, ...at };
}
