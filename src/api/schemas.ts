import { z } from 'zod';
import { isCurrencyCode, knownCurrencies } from '../money/currency.js';

/*
 * The POS API's request bodies. Handlers validate with these (every bad field reported at once),
 * and the OpenAPI description is generated from the same schemas, so the two cannot drift.
 */
const key = z
  .string({ error: 'must be a string' })
  .regex(/^[\x21-\x7e]{1,128}$/, { error: 'must be 1-128 printable ASCII characters without spaces (e.g. a UUID)' });
const amountMinor = z
  .number({ error: 'must be a number of minor units' })
  .refine((v) => Number.isSafeInteger(v) && v > 0, { error: 'must be a positive whole number of minor units (1250 for 12.50 EUR)' });

export const createPaymentBody = z.strictObject(
  {
    lane: z.string({ error: 'must be a lane id' }).min(1, { error: 'must be a lane id' }).max(32),
    amountMinor,
    currency: z.string({ error: 'must be an ISO 4217 code' }).refine(isCurrencyCode, { error: `must be an ISO 4217 code: one of ${knownCurrencies().join(', ')}` }),
    reference: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(128, { error: 'must be at most 128 characters' }),
    idempotencyKey: key,
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'unknown field (allowed: lane, amountMinor, currency, reference, idempotencyKey)' : 'must be a JSON object') },
);

export const voidBody = z.strictObject({ idempotencyKey: key }, { error: (issue) => (issue.code === 'unrecognized_keys' ? 'unknown field (allowed: idempotencyKey)' : 'must be a JSON object') });

export const refundBody = z.strictObject(
  { idempotencyKey: key, amountMinor },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'unknown field (allowed: idempotencyKey, amountMinor)' : 'must be a JSON object') },
);

export const paymentIdParam = key;

const decision = z.object({
  approved: z.boolean(),
  code: z.string().describe('EMV/ISO 8583 response code: Y3/Z3 offline, 05, 14, 51, 54, 57, 61, 65, 91…'),
  reason: z.string(),
  rule: z.string(),
  mode: z.enum(['offline', 'online']),
});

export const paymentResource = z.object({
  id: z.string().describe('the idempotency key the POS chose'),
  lane: z.string(),
  amountMinor: z.number().int(),
  currency: z.string(),
  reference: z.string(),
  status: z.enum(['waiting_for_card', 'authorizing', 'approved', 'declined', 'cancelled', 'failed']),
  decision: decision.nullable(),
  card: z.object({ bin: z.string(), last4: z.string() }).nullable(),
  journalSeq: z.number().int().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const followUpResource = z.object({
  id: z.string(),
  kind: z.enum(['void', 'refund']),
  paymentId: z.string(),
  amountMinor: z.number().int(),
  currency: z.string(),
  decision,
  journalSeq: z.number().int().nullable(),
});

export const errorResource = z.object({
  error: z.object({
    code: z.string().describe('stable error code, e.g. EDGEPAY_BAD_INPUT, EDGEPAY_LANE_BUSY'),
    message: z.string(),
    problems: z.array(z.object({ path: z.string(), message: z.string(), value: z.unknown().optional() })).optional(),
  }),
});
