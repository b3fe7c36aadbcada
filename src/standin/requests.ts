import { z } from 'zod';
import { isCurrencyCode, knownCurrencies } from '../money/currency.js';
import { BadInputError, type FieldProblem } from '../errors.js';
import type { CardFacts } from '../card/card-facts.js';

/**
 * Requests are validated at the edge of the stand-in service, so the journal and the pure rules
 * only ever see well-formed values, and a bad request names every bad field at once.
 */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
const FOUR_DIGITS = /^\d{4}$/;

const idempotencyKey = z.string().regex(IDEMPOTENCY_KEY, 'must be 1-128 printable ASCII characters without spaces');
const amountMinor = z.number().refine((v) => Number.isSafeInteger(v) && v > 0, 'must be a positive integer number of minor units (no fractions)');
const currency = z.string().refine(isCurrencyCode, `must be an ISO 4217 code: one of ${knownCurrencies().join(', ')}`);
const label = (max: number) => z.string().min(1).max(max);

const cardFacts = z.strictObject({
  token: z.string().min(16).max(128),
  last4: z.string().regex(FOUR_DIGITS, 'must be the last 4 digits of the PAN'),
  expiryYear: z.number().int().min(2000).max(2099),
  expiryMonth: z.number().int().min(1).max(12),
  checkDigitValid: z.boolean(),
  sealed: z.instanceof(Uint8Array).refine((b) => b.length > 0 && b.length <= 4096, 'must be 1-4096 bytes'),
});

/** Response codes the centre may answer online with; anything else is not a decision the node takes. */
export const ONLINE_CODES = ['00', '14', '43', '51', '54', '57', '68'] as const;
const onlineDecision = z.strictObject({ approved: z.boolean(), code: z.enum(ONLINE_CODES), reason: z.string().min(1).max(1_024) });

const authorizationRequest = z.strictObject({
  idempotencyKey,
  amountMinor,
  currency,
  card: cardFacts,
  lane: label(64).optional(),
  reference: label(128).optional(),
  /** The centre's online decision, when it answered in time: journaled as it is, mode online. */
  online: onlineDecision.optional(),
});

const followUpRequest = z.strictObject({
  kind: z.enum(['void', 'refund', 'capture']),
  idempotencyKey,
  /** The idempotency key of the authorization (or, for a refund, capture) being followed up. */
  originalIdempotencyKey: idempotencyKey,
  /** Defaults to the original's amount; a void is always for the whole amount. */
  amountMinor: amountMinor.optional(),
  lane: label(64).optional(),
  reference: label(128).optional(),
});

export interface AuthorizationRequest {
  readonly idempotencyKey: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly card: CardFacts;
  readonly lane?: string;
  readonly reference?: string;
  readonly online?: { readonly approved: boolean; readonly code: (typeof ONLINE_CODES)[number]; readonly reason: string };
}

export type FollowUpKind = 'void' | 'refund' | 'capture';

export interface FollowUpRequest {
  readonly kind: FollowUpKind;
  readonly idempotencyKey: string;
  readonly originalIdempotencyKey: string;
  readonly amountMinor?: number;
  readonly lane?: string;
  readonly reference?: string;
}

function problems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
    ...(issue.input !== undefined && !(issue.input instanceof Uint8Array) ? { value: issue.input } : {}),
  }));
}

export function parseAuthorizationRequest(input: unknown): AuthorizationRequest {
  if (isWellFormedAuthorization(input)) return input;
  const result = authorizationRequest.safeParse(input, { reportInput: true });
  if (!result.success) throw new BadInputError('authorization request', problems(result.error));
  return result.data;
}

export function parseFollowUpRequest(input: unknown): FollowUpRequest {
  const result = followUpRequest.safeParse(input, { reportInput: true });
  if (!result.success) throw new BadInputError('follow-up request', problems(result.error));
  return result.data;
}

const AUTHORIZATION_KEYS = new Set(['idempotencyKey', 'amountMinor', 'currency', 'card', 'lane', 'reference', 'online']);
const CARD_KEYS = new Set(['token', 'last4', 'expiryYear', 'expiryMonth', 'checkDigitValid', 'sealed']);

function hasOnly(value: object, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

function isLabel(value: unknown, max: number): boolean {
  return value === undefined || (typeof value === 'string' && value.length >= 1 && value.length <= max);
}

function isIntIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * The schema above, checked by hand for the common case: zod costs a few microseconds a request,
 * which is a sixth of the whole durable pipeline under load. It accepts exactly what the schema
 * accepts (a property test holds the two together); anything it rejects goes to zod, which then
 * names every bad field.
 */
function isWellFormedAuthorization(input: unknown): input is AuthorizationRequest {
  if (typeof input !== 'object' || input === null || Object.getPrototypeOf(input) !== Object.prototype) return false;
  const r = input as Record<string, unknown>;
  if (!hasOnly(r, AUTHORIZATION_KEYS)) return false;
  if (typeof r.idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(r.idempotencyKey)) return false;
  if (typeof r.amountMinor !== 'number' || !Number.isSafeInteger(r.amountMinor) || r.amountMinor <= 0) return false;
  if (!isCurrencyCode(r.currency)) return false;
  if (!isLabel(r.lane, 64) || !isLabel(r.reference, 128)) return false;
  // The rare online case goes through the schema.
  if (r.online !== undefined) return false;
  const card = r.card;
  if (typeof card !== 'object' || card === null || Object.getPrototypeOf(card) !== Object.prototype) return false;
  const c = card as Record<string, unknown>;
  if (!hasOnly(c, CARD_KEYS)) return false;
  if (typeof c.token !== 'string' || c.token.length < 16 || c.token.length > 128) return false;
  if (typeof c.last4 !== 'string' || !FOUR_DIGITS.test(c.last4)) return false;
  if (!isIntIn(c.expiryYear, 2000, 2099) || !isIntIn(c.expiryMonth, 1, 12)) return false;
  if (typeof c.checkDigitValid !== 'boolean') return false;
  return c.sealed instanceof Uint8Array && c.sealed.length > 0 && c.sealed.length <= 4096;
}

/** Exposed for the property test that keeps the fast path and the schema in agreement. */
export const authorizationChecks = {
  fast: (input: unknown): boolean => isWellFormedAuthorization(input),
  schema: (input: unknown): boolean => authorizationRequest.safeParse(input).success,
};
