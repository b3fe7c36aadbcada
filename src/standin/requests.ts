import { z } from 'zod';
import { isCurrencyCode, knownCurrencies } from '../money/currency.js';
import { BadInputError, type FieldProblem } from '../errors.js';
import type { CardFacts } from '../card/card-facts.js';

/**
 * Requests are validated at the edge of the stand-in service, so the journal and the pure rules
 * only ever see well-formed values, and a bad request names every bad field at once.
 */
const idempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, 'must be 1-128 printable ASCII characters without spaces');
const amountMinor = z
  .number()
  .refine((v) => Number.isSafeInteger(v) && v > 0, 'must be a positive integer number of minor units (no fractions)');
const currency = z.string().refine(isCurrencyCode, `must be an ISO 4217 code: one of ${knownCurrencies().join(', ')}`);
const label = (max: number) => z.string().min(1).max(max);

const cardFacts = z.strictObject({
  token: z.string().min(16).max(128),
  bin: z.string().regex(/^\d{6}$/, 'must be the first 6 digits of the PAN'),
  last4: z.string().regex(/^\d{4}$/, 'must be the last 4 digits of the PAN'),
  expiryYear: z.number().int().min(2000).max(2099),
  expiryMonth: z.number().int().min(1).max(12),
  checkDigitValid: z.boolean(),
  sealed: z.instanceof(Uint8Array).refine((b) => b.length > 0 && b.length <= 4096, 'must be 1-4096 bytes'),
});

const authorizationRequest = z.strictObject({
  idempotencyKey,
  amountMinor,
  currency,
  card: cardFacts,
  lane: label(64).optional(),
  reference: label(128).optional(),
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
  const result = authorizationRequest.safeParse(input, { reportInput: true });
  if (!result.success) throw new BadInputError('authorization request', problems(result.error));
  return result.data;
}

export function parseFollowUpRequest(input: unknown): FollowUpRequest {
  const result = followUpRequest.safeParse(input, { reportInput: true });
  if (!result.success) throw new BadInputError('follow-up request', problems(result.error));
  return result.data;
}
