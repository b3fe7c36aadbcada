import { z } from 'zod';
import type { DecisionCode, RuleId } from '../authorize/codes.js';
import type { PaymentStatus } from '../lanes/payment.js';
import { knownCurrencies } from '../money/currency.js';
import { MAX_AMOUNT_MINOR, MIN_AMOUNT_MINOR } from '../money/limits.js';
import { API_ERRORS, type ApiErrorCode } from './errors.js';
import { SHORT_ID_PATTERN } from '../ids.js';

/*
 * The POS API's request bodies and resources. Handlers validate with these (every bad field
 * reported at once), and the OpenAPI description is generated from the same schemas, so the two
 * cannot drift: every bound is a zod check that z.toJSONSchema carries into the document (integer,
 * minimum, maximum, enum, pattern, minLength, maxLength), never a refine it cannot see.
 */

/** Longest idempotency key (and so payment id) in characters: the journal's own bound. */
export const KEY_MAX_LENGTH = 128;
/** Longest POS reference in characters (Unicode code points). */
export const REFERENCE_MAX_LENGTH = 128;
/** Longest lane id: the node configuration's own bound. */
/** A lane id's length, as in the node configuration (SHORT_ID_PATTERN). */
export const LANE_MAX_LENGTH = 32;

const keyError = `must be 1-${KEY_MAX_LENGTH} printable ASCII characters without spaces (e.g. a UUID)`;
// `abort` keeps one problem per bad field: an empty key is too short, not also off-pattern.
const key = z
  .string({ error: keyError })
  .min(1, { error: keyError, abort: true })
  .max(KEY_MAX_LENGTH, { error: keyError, abort: true })
  .regex(/^[\x21-\x7e]+$/, { error: keyError });

// The same syntax as a lane id in the node configuration: a lane that cannot be configured is bad
// input (400 EDGEPAY_BAD_INPUT), one that merely is not configured is EDGEPAY_LANE_UNKNOWN.
const laneError = `must be a lane id: 1-${LANE_MAX_LENGTH} letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. lane-1)`;
const lane = z.string({ error: laneError }).min(1, { error: laneError, abort: true }).max(LANE_MAX_LENGTH, { error: laneError, abort: true }).regex(SHORT_ID_PATTERN, { error: laneError });

const amountError = `must be a whole number of minor units from ${MIN_AMOUNT_MINOR} to ${MAX_AMOUNT_MINOR} (1250 for 12.50 EUR)`;
const amountMinor = z.int({ error: amountError }).min(MIN_AMOUNT_MINOR, { error: amountError }).max(MAX_AMOUNT_MINOR, { error: amountError });

const currencies = knownCurrencies() as [string, ...string[]];
const currency = z.enum(currencies, { error: `must be an ISO 4217 code: one of ${currencies.join(', ')}` });

// Lengths count code points in zod and in JSON Schema alike. Control characters (C0, DEL, C1) have no
// place in a receipt reference, and kept out they cannot break a log line either.
const referenceError = `must be 1-${REFERENCE_MAX_LENGTH} characters without control characters`;
const reference = z
  .string({ error: referenceError })
  .min(1, { error: referenceError, abort: true })
  .max(REFERENCE_MAX_LENGTH, { error: referenceError, abort: true })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a reference is printed on receipts and logs; control characters are what it may not hold.
  .regex(/^[^\x00-\x1f\x7f-\x9f]+$/, { error: referenceError });

function strictBody<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field (allowed: ${allowed})` : 'must be a JSON object') });
}

export const createPaymentBody = strictBody({ lane, amountMinor, currency, reference, idempotencyKey: key });
export const voidBody = strictBody({ idempotencyKey: key });
export const refundBody = strictBody({ idempotencyKey: key, amountMinor });

export const paymentIdParam = key.describe('the payment id: the idempotency key the POS chose');

/*
 * Resources the API answers with. They describe what is served, including payments read back from
 * the journal that did not come through this API (lane '' when a payment had none), so some fields
 * are looser than in the request bodies.
 */

// Records keyed by the code unions: adding a code there without adding it here fails to compile.
const DECISION_CODES: Record<DecisionCode, true> = {
  Y1: true,
  Y3: true,
  Z1: true,
  Z3: true,
  '00': true,
  '05': true,
  '14': true,
  '43': true,
  '51': true,
  '54': true,
  '57': true,
  '61': true,
  '65': true,
  '68': true,
  '91': true,
};
const PAYMENT_STATUSES: Record<PaymentStatus, true> = { waiting_for_card: true, authorizing: true, approved: true, declined: true, cancelled: true, failed: true };
const RULE_IDS: Record<RuleId, true> = {
  currency: true,
  check_digit: true,
  expiry: true,
  hot_card: true,
  floor_limit: true,
  card_count: true,
  card_amount: true,
  forward_deadline: true,
  node_count: true,
  node_amount: true,
  approved: true,
  follow_up: true,
  centre: true,
  system: true,
};

const decision = z.object({
  approved: z.boolean(),
  code: z.enum(Object.keys(DECISION_CODES).sort() as [DecisionCode, ...DecisionCode[]]).describe('EMV/ISO 8583 response code: Y1/Y3/Z1/Z3 offline, 00 approved online, 05, 14, 51, 54, 57, 61, 65, 91…'),
  reason: z.string().describe('why, written for a person'),
  rule: z.enum(Object.keys(RULE_IDS) as [RuleId, ...RuleId[]]),
  mode: z.enum(['offline', 'online']),
});

// Responses carry what the journal holds: a positive safe integer (the API takes at most
// MAX_AMOUNT_MINOR, but a payment taken by the node itself is bounded only by the stand-in rules).
const storedAmountMinor = z.int().min(MIN_AMOUNT_MINOR);
const journalSeq = z.int().min(1).nullable().describe('the journal entry that recorded the decision');
const timestamp = z.iso.datetime().describe('ISO 8601, UTC');

export const paymentResource = z.object({
  id: z.string().max(KEY_MAX_LENGTH).describe('the idempotency key the POS chose'),
  lane: z.string().describe('empty for a payment taken without a lane'),
  amountMinor: storedAmountMinor,
  currency,
  reference: z.string(),
  status: z.enum(Object.keys(PAYMENT_STATUSES) as [PaymentStatus, ...PaymentStatus[]]),
  decision: decision.nullable(),
  card: z
    .object({ last4: z.string().regex(/^[0-9]{4}$/) })
    .nullable()
    .describe('the last 4 digits, for the receipt; no other card digit leaves or stays on the box'),
  journalSeq,
  error: z.object({ code: z.string(), message: z.string() }).nullable().describe('why a payment ended failed or cancelled'),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const followUpResource = z.object({
  id: z.string().max(KEY_MAX_LENGTH).nullable().describe("the follow-up's idempotency key; null when the journal could not record it (then the decision is a 91 decline)"),
  kind: z.enum(['void', 'refund']),
  paymentId: z.string().max(KEY_MAX_LENGTH),
  amountMinor: storedAmountMinor.nullable(),
  currency: currency.nullable(),
  decision,
  journalSeq,
});

/** One bad field as the API reports it: input is shown only as a short primitive, never echoed whole. */
export const problemResource = z.object({
  path: z.string().describe('the field, e.g. amountMinor; empty for the body itself'),
  message: z.string().describe('what is allowed'),
  value: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional().describe('the value sent, for primitives only; a string longer than 64 characters is cut there and ends with …'),
  received: z.string().optional().describe('what was sent, when value does not show it whole: "an object with 3 keys", "an array of 2 items", "a string of 300 characters"'),
});

export const errorResource = z.object({
  error: z.object({
    code: z.enum(Object.keys(API_ERRORS) as [ApiErrorCode, ...ApiErrorCode[]]).describe('stable error code; the API description says what each means'),
    message: z.string().describe('for a person: what was wrong and what is allowed'),
    problems: z.array(problemResource).optional().describe('every bad field, for EDGEPAY_BAD_INPUT and EDGEPAY_LANE_UNKNOWN'),
  }),
});
