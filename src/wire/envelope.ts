import { type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import { entryHash } from '../journal/canonical.js';
import type { JournalEntry } from '../journal/entry.js';
import type { RejectReason } from './counters.js';
import { entryJsonSchema, fromEntryJson, toEntryJson } from './entry-wire.js';
import type { KeyRing } from './keys.js';
import { idSchema } from '../ids.js';

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
  origin: idSchema(),
  entry: entryJsonSchema,
  // An Ed25519 signature is 64 bytes: 88 base64 characters.
  sig: z.base64().length(88),
});

/** An entry with its origin's signature: a v1 envelope's content. */
export type SignedEntry = JournalEntry & { readonly signature: Buffer };

/**
 * An entry as a replica holds it: with its origin's signature when a message ended at it, without
 * when a later signed entry of the same run vouches for it through the chain.
 */
export type HeldEntry = JournalEntry & { readonly signature: Buffer | null };

/**
 * An entry whose message verified: known origin, valid signature over it or a later entry it
 * links to, recomputed hash. Only openEnvelope and openMessage make these, so the replica store
 * cannot be handed an unchecked entry.
 */
export type VerifiedEntry = HeldEntry & { readonly [verifiedBrand]: true };
declare const verifiedBrand: unique symbol;

export type Opened =
  | { readonly ok: true; readonly origin: string; readonly entry: VerifiedEntry & SignedEntry }
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
  return openParsed(json, keys);
}

function openParsed(json: unknown, keys: KeyRing): Opened {
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
  return { ok: true, origin, entry: { ...entry, signature } as VerifiedEntry & SignedEntry };
}

function reject(reason: RejectReason, detail: string, at: { origin?: string; seq?: number } = {}): Extract<Opened, { ok: false }> {
  return { ok: false, reason, detail, ...at };
}

/*
 * Runs: a journal-topic or inbox message may carry up to RUN_MAX consecutive entries, with one
 * signature: the entry signature of the run's last entry. That entry's hash covers the hash
 * before it, so checking every hash and every link inside the run and then that one signature
 * authenticates the whole run. The origin signs once per run instead of once per entry (an
 * Ed25519 signature costs about 40 µs, more than the rest of publishing an entry), and a peer
 * verifies once per run.
 *
 * A replica keeps the signature on the entry it signs and none on the others: any stretch ending
 * at a signed entry can be passed on as a run its recipient verifies on its own (repair answers,
 * rebuild). See replica-runs.ts.
 */
export const RUN_VERSION = 3;
export const RUN_MAX = 64;
/**
 * A run of RUN_MAX entries as large as the entry schema lets them be (each within
 * MAX_ENVELOPE_BYTES: every text field at its limit, written with six-byte JSON escapes, and the
 * largest sealed card), with room for the run's own fields. Entries are about 1.2 KiB, so a real
 * run is some 77 KiB; a bound below the worst case would let an origin write a run that no peer
 * could ever take, and its replicas would stop there for good. Well inside the broker's
 * message_size_limit (4 MiB).
 */
export const MAX_RUN_BYTES = RUN_MAX * MAX_ENVELOPE_BYTES + 1_024;

const runSchema = z.strictObject({
  v: z.literal(RUN_VERSION),
  origin: idSchema(),
  entries: z.array(entryJsonSchema).min(1).max(RUN_MAX),
  sig: z.base64().length(88),
});

/**
 * The message for 1 to RUN_MAX consecutive entries of one origin and the signature of the last:
 * a lone entry goes as a v1 envelope, which every receiver already reads.
 */
export function encodeRun(entries: readonly JournalEntry[], lastSignature: Buffer): Buffer {
  const first = entries[0];
  const last = entries[entries.length - 1];
  if (first === undefined || last === undefined || entries.length > RUN_MAX) throw new RangeError(`a run holds 1 to ${RUN_MAX} entries, got ${entries.length}`);
  if (entries.length === 1) return encodeEnvelope({ ...first, signature: lastSignature });
  return Buffer.from(JSON.stringify({ v: RUN_VERSION, origin: first.nodeId, entries: entries.map(toEntryJson), sig: lastSignature.toString('base64') }), 'utf8');
}

/** The message for a run of the node's own consecutive entries (1 to RUN_MAX): one signature. */
export function sealRun(entries: readonly JournalEntry[], signingKey: KeyObject): Buffer {
  const last = entries[entries.length - 1];
  if (last === undefined || entries.length > RUN_MAX) throw new RangeError(`a run holds 1 to ${RUN_MAX} entries, got ${entries.length}`);
  return encodeRun(entries, signEntry(last, signingKey));
}

export type OpenedMessage =
  | { readonly ok: true; readonly origin: string; readonly entries: readonly VerifiedEntry[] }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string; readonly origin?: string; readonly seq?: number };

/** A journal-topic or inbox message: one entry (v1) or a run (v3); either way every entry's content is verified. */
export function openMessage(payload: Uint8Array, keys: KeyRing): OpenedMessage {
  if (payload.byteLength > MAX_RUN_BYTES) return reject('malformed', `${payload.byteLength} bytes is over the ${MAX_RUN_BYTES}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    return reject('malformed', 'not JSON');
  }
  if ((json as { v?: unknown } | null)?.v !== RUN_VERSION) {
    if (payload.byteLength > MAX_ENVELOPE_BYTES) return reject('malformed', `${payload.byteLength} bytes is over the ${MAX_ENVELOPE_BYTES}-byte limit`);
    const one = openParsed(json, keys);
    return one.ok ? { ok: true, origin: one.origin, entries: [one.entry] } : one;
  }
  const parsed = runSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return reject('malformed', `${first?.path.join('.') || '(root)'}: ${first?.message ?? 'invalid'}`);
  }
  const { origin, entries: wire, sig } = parsed.data;
  const key = keys.get(origin);
  const firstSeq = wire[0]!.seq;
  if (key === undefined) return reject('unknown_key', `no public key for node ${JSON.stringify(origin)}`, { origin, seq: firstSeq });
  const entries: JournalEntry[] = [];
  for (let i = 0; i < wire.length; i++) {
    const item = wire[i]!;
    const at = { origin, seq: item.seq };
    if (item.nodeId !== origin) return reject('malformed', `entry of node ${JSON.stringify(item.nodeId)} in a run from ${JSON.stringify(origin)}`, at);
    const previous = entries[i - 1];
    if (previous !== undefined && (item.seq !== previous.seq + 1 || item.prevHash !== previous.hash)) {
      return reject('bad_hash', `entry ${item.seq} does not follow entry ${previous.seq} of the run`, at);
    }
    const entry = fromEntryJson(item);
    const recomputed = entryHash(entry);
    if (recomputed !== entry.hash) return reject('bad_hash', `content hashes to ${recomputed.slice(0, 16)}…, recorded hash is ${entry.hash.slice(0, 16)}…`, at);
    entries.push(entry);
  }
  const last = entries[entries.length - 1]!;
  const signature = Buffer.from(sig, 'base64');
  if (!verify(null, signedBytes(origin, last.seq, last.hash), key, signature)) {
    return reject('bad_signature', `run ${firstSeq}-${last.seq} does not verify with ${origin}'s key`, { origin, seq: firstSeq });
  }
  const verified = entries.map((entry, i) => ({ ...entry, signature: i === entries.length - 1 ? signature : null }) as VerifiedEntry);
  return { ok: true, origin, entries: verified };
}
