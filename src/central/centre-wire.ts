import { z } from 'zod';
import { canonicalBase64 } from '../platform/canonical-base64.js';
import { entryJsonSchema, fromEntryJson, toEntryJson } from '../wire/entry-wire.js';
import type { ForwardBatch } from './batch.js';
import type { BatchAnswer } from './centre.js';
import type { OnlineRequest } from './online.js';
import type { SignedCentreAnswer } from './answer-signature.js';
import { idSchema } from '../ids.js';

/*
 * Batches and answers on the fleet's MQTT. The request carries its own correlation id and the
 * topic to answer on, so it works over MQTT 3.1.1 (the embedded broker speaks nothing newer) as
 * well as 5. Entries travel in the replication wire format; the centre re-checks everything. Its
 * answers are signed with the centre's key and bound to the request (answer-signature.ts).
 */

export const WIRE_VERSION = 1;
/**
 * The store broker's message_size_limit (brokers/mosquitto.conf): a larger message would be dropped
 * there, so it is refused here, unparsed on receipt and before publishing. A batch of 500 entries
 * (node config's default batchSize) of about 1.2 KiB each is ~0.6 MiB; 3,000 such entries fit.
 */
export const MAX_WIRE_BYTES = 4 * 1024 * 1024;

const ID = idSchema();
const minor = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

const requestSchema = z.strictObject({
  v: z.literal(WIRE_VERSION),
  correlationId: z.string().min(1).max(128),
  batchId: z.string().min(1).max(256),
  store: ID,
  origin: ID,
  sender: ID,
  totals: z.strictObject({ count: z.int().min(0).max(10_000), sumsMinor: z.record(z.string().regex(/^[A-Z]{3}$/), minor) }),
  entries: z.array(entryJsonSchema).min(1).max(10_000),
  // The origin's Ed25519 signature of the last entry: 64 bytes, 88 base64 characters.
  sig: canonicalBase64().length(88),
});

const outcomeSchema = z.strictObject({
  seq: z.int().min(1),
  result: z.enum(['settled', 'exception', 'recorded']),
  reason: z.string().max(1_024).nullable(),
  merchantMinor: z.int(),
});

/**
 * Answers are signed by the centre (answer-signature.ts) and carry whom they are for, what they
 * answer and until when: version 2, so an unsigned answer of version 1 is refused as malformed.
 */
export const ANSWER_WIRE_VERSION = 2;

const batchAnswerSchema = z.union([
  z.strictObject({
    ok: z.literal(true),
    batchId: z.string(),
    origin: ID,
    headSeq: z.int().min(0),
    outcomes: z.array(outcomeSchema).max(10_000),
    totals: z.strictObject({ count: z.int().min(0), sumsMinor: z.record(z.string(), minor) }),
  }),
  z.strictObject({
    ok: z.literal(false),
    batchId: z.string(),
    origin: ID,
    headSeq: z.int().min(0),
    error: z.strictObject({ code: z.string().regex(/^EDGEPAY_[A-Z_]+$/), message: z.string().max(4_096) }),
  }),
]);

const sealed = {
  v: z.literal(ANSWER_WIRE_VERSION),
  correlationId: z.string().min(1).max(128),
  /** The node the answer is for: the requester. */
  node: ID,
  expiresMs: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  // An Ed25519 signature is 64 bytes: 88 base64 characters.
  sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/),
};

const answerSchema = z.union([
  z.strictObject({ ...sealed, answer: batchAnswerSchema }),
  z.strictObject({
    ...sealed,
    asked: z.strictObject({
      idempotencyKey: z.string().min(1).max(128),
      amountMinor: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
      currency: z.string().regex(/^[A-Z]{3}$/),
      cardToken: z.string().min(1).max(128),
    }),
    online: z.strictObject({ approved: z.boolean(), code: z.string().max(8), reason: z.string().max(1_024) }),
  }),
  z.strictObject({ ...sealed, reversed: z.literal(true), idempotencyKey: z.string().min(1).max(128) }),
  z.strictObject({
    ...sealed,
    origin: ID,
    report: z
      .strictObject({
        origin: ID,
        store: ID,
        headSeq: z.int().min(0),
        entries: z.int().min(0),
        settled: z.int().min(0),
        exceptions: z.int().min(0),
        recorded: z.int().min(0),
        sumsMinor: z.record(z.string().regex(/^[A-Z]{3}$/), minor),
        // Net credits: a refund outweighing its sales can leave it below zero.
        merchantMinor: z.record(z.string().regex(/^[A-Z]{3}$/), z.int()),
      })
      .nullable(),
  }),
]);

const onlineRequestSchema = z.union([
  z.strictObject({
    v: z.literal(WIRE_VERSION),
    correlationId: z.string().min(1).max(128),
    kind: z.literal('authorize'),
    request: z.strictObject({
      origin: ID,
      store: ID,
      idempotencyKey: z.string().min(1).max(128),
      amountMinor: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
      currency: z.string().regex(/^[A-Z]{3}$/),
      cardToken: z.string().min(1).max(128),
      expiryYear: z.int().min(2000).max(2099),
      expiryMonth: z.int().min(1).max(12),
      // Required: a node that does not say whether the PAN passed its check digit gets no online decision.
      checkDigitValid: z.boolean(),
    }),
  }),
  z.strictObject({ v: z.literal(WIRE_VERSION), correlationId: z.string().min(1).max(128), kind: z.literal('reverse'), origin: ID, idempotencyKey: z.string().min(1).max(128) }),
  // What the ledger holds of the asking node: small and read-only, so it rides the authorize topic's small-message path.
  z.strictObject({ v: z.literal(WIRE_VERSION), correlationId: z.string().min(1).max(128), kind: z.literal('report'), origin: ID }),
]);

export type OnlineWireRequest =
  | { readonly correlationId: string; readonly kind: 'authorize'; readonly request: OnlineRequest }
  | { readonly correlationId: string; readonly kind: 'reverse'; readonly origin: string; readonly idempotencyKey: string }
  | { readonly correlationId: string; readonly kind: 'report'; readonly origin: string };

export function encodeOnlineRequest(request: OnlineWireRequest): Buffer {
  return Buffer.from(JSON.stringify({ v: WIRE_VERSION, ...request }), 'utf8');
}

export function decodeOnlineRequest(payload: Buffer): OnlineWireRequest | undefined {
  if (payload.byteLength > 4_096) return undefined;
  try {
    const parsed = onlineRequestSchema.safeParse(JSON.parse(payload.toString('utf8')));
    if (!parsed.success) return undefined;
    const { v: _v, ...request } = parsed.data;
    return request;
  } catch {
    return undefined;
  }
}

export interface WireRequest {
  readonly correlationId: string;
  readonly batch: ForwardBatch;
}

export function encodeRequest(correlationId: string, batch: ForwardBatch): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: WIRE_VERSION,
      correlationId,
      batchId: batch.batchId,
      store: batch.store,
      origin: batch.origin,
      sender: batch.sender,
      totals: batch.totals,
      entries: batch.entries.map(toEntryJson),
      sig: batch.signature.toString('base64'),
    }),
    'utf8',
  );
}

/** A readable problem, or the batch. */
export function decodeRequest(payload: Buffer): WireRequest | { readonly problem: string; readonly correlationId?: string } {
  if (payload.byteLength > MAX_WIRE_BYTES) return { problem: `${payload.byteLength} bytes is over the ${MAX_WIRE_BYTES}-byte limit` };
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { problem: 'not JSON' };
  }
  const parsed = requestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const correlationId = (json as { correlationId?: unknown })?.correlationId;
    return { problem: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`, ...(typeof correlationId === 'string' ? { correlationId } : {}) };
  }
  const { correlationId, entries, sig, ...rest } = parsed.data;
  return { correlationId, batch: { ...rest, entries: entries.map(fromEntryJson), signature: Buffer.from(sig, 'base64') } };
}

/** A signed answer of any kind, as the centre publishes it on the node's `centre` topic. */
export function encodeCentreAnswer(answer: SignedCentreAnswer): Buffer {
  const { kind, ...fields } = answer;
  return Buffer.from(JSON.stringify({ v: ANSWER_WIRE_VERSION, ...fields, ...(kind === 'reversal' ? { reversed: true } : {}) }), 'utf8');
}

/** A signed answer of any kind, unverified: the receiver checks the signature and what it answers. */
export function decodeCentreAnswer(payload: Buffer): SignedCentreAnswer | undefined {
  if (payload.byteLength > MAX_WIRE_BYTES) return undefined;
  let parsed: ReturnType<typeof answerSchema.safeParse>;
  try {
    parsed = answerSchema.safeParse(JSON.parse(payload.toString('utf8')));
  } catch {
    return undefined;
  }
  if (!parsed.success) return undefined;
  const { v: _v, ...fields } = parsed.data;
  if ('answer' in fields) return { kind: 'batch', ...fields, answer: fields.answer as BatchAnswer };
  if ('online' in fields) return { kind: 'online', ...fields };
  if ('report' in fields) return { kind: 'report', ...fields };
  const { reversed: _reversed, ...reversal } = fields;
  return { kind: 'reversal', ...reversal };
}
