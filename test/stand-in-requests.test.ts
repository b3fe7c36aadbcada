import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authorizationChecks, parseAuthorizationRequest, parseFollowUpRequest } from '../src/standin/requests.js';
import { cardFacts } from './support/cards.js';

const valid = () => ({ idempotencyKey: 'pos-1', amountMinor: 1250, currency: 'EUR', card: cardFacts(1), lane: 'lane-1', reference: 'r-1' });

/** Values that sit on and around every boundary the schema draws. */
const oddValue = fc.oneof(
  fc.constantFrom(undefined, null, 0, -1, 1, 1.5, 2000, 2099, 2100, 1999, 12, 13, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity),
  fc.constantFrom('', ' ', 'EUR', 'eur', 'XXX', '123456', '12345', '1234', '123a', 'a'.repeat(16), 'a'.repeat(129), 'with space', 'tab\t'),
  fc.constantFrom(true, false, [], {}, new Uint8Array(0), new Uint8Array(1), new Uint8Array(4097)),
  fc.string({ maxLength: 140 }),
  fc.integer(),
);
const field = fc.constantFrom('idempotencyKey', 'amountMinor', 'currency', 'lane', 'reference', 'extra');
const cardField = fc.constantFrom('token', 'bin', 'last4', 'expiryYear', 'expiryMonth', 'checkDigitValid', 'sealed', 'pan');

describe('request validation', () => {
  it('the fast path accepts exactly what the schema accepts, around every boundary', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), field, cardField, oddValue), { maxLength: 3 }), (mutations) => {
        const request: Record<string, unknown> = valid();
        const card: Record<string, unknown> = { ...(request.card as object) };
        request.card = card;
        for (const [onCard, top, inCard, value] of mutations) {
          if (onCard) card[inCard] = value;
          else request[top] = value;
        }
        expect(authorizationChecks.fast(request)).toBe(authorizationChecks.schema(request));
      }),
      { numRuns: 3000 },
    );
  });

  it('never lets the fast path accept what the schema refuses, for arbitrary values', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        if (authorizationChecks.fast(input)) expect(authorizationChecks.schema(input)).toBe(true);
      }),
    );
  });

  it('names each bad field with the value and what is allowed', () => {
    const request = { ...valid(), amountMinor: 0, currency: 'EURO', lane: '' };
    const error = (() => {
      try {
        parseAuthorizationRequest(request);
      } catch (e) {
        return e as { code: string; problems: { path: string; message: string; value?: unknown }[] };
      }
      throw new Error('expected a BadInputError');
    })();
    expect(error.code).toBe('EDGEPAY_BAD_INPUT');
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'amountMinor', value: 0, message: expect.stringContaining('positive integer') }),
        expect.objectContaining({ path: 'currency', value: 'EURO', message: expect.stringContaining('ISO 4217') }),
        expect.objectContaining({ path: 'lane' }),
      ]),
    );
  });

  it('validates follow-ups: kind, keys and an optional whole amount', () => {
    expect(parseFollowUpRequest({ kind: 'void', idempotencyKey: 'v1', originalIdempotencyKey: 'p1' })).toMatchObject({ kind: 'void' });
    expect(() => parseFollowUpRequest({ kind: 'chargeback', idempotencyKey: 'v1', originalIdempotencyKey: 'p1', amountMinor: 1.5 })).toThrow(
      expect.objectContaining({ problems: [expect.objectContaining({ path: 'kind' }), expect.objectContaining({ path: 'amountMinor' })] }),
    );
  });
});
