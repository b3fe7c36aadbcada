import { z } from 'zod';
import { isCurrencyCode, knownCurrencies } from '../money/index.js';

/*
 * Every schema carries its own message saying what is allowed, because an operator editing a rules
 * file on a store box needs the fix, not zod's type vocabulary.
 */

function wholeNumber(min: number, max: number | null, unit: string) {
  const range = max === null ? `>= ${min}` : `from ${min} to ${max}`;
  const error = `must be a whole number ${range} (${unit})`;
  const schema = z.int({ error }).min(min, { error });
  return max === null ? schema : schema.max(max, { error });
}

/** A strict object whose errors list the keys that are allowed, so a typo shows its correction. */
function strictObject<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown key (allowed keys: ${allowed})` : `must be an object with keys ${allowed}`),
  });
}

const currencyKey = z.string().refine(isCurrencyCode, {
  error: `is not a supported ISO 4217 currency code (use one of ${knownCurrencies().join(', ')})`,
});

function perCurrency<T extends z.ZodType>(value: T, what: string) {
  return z.record(currencyKey, value, { error: `must be an object mapping ISO 4217 currency codes to ${what}` });
}

const amountMinor = wholeNumber(0, null, 'minor units of the currency');

export const rulesSchema = strictObject({
  version: wholeNumber(1, null, 'rules version'),
  currencies: perCurrency(strictObject({ floorLimitMinor: amountMinor }), '{ floorLimitMinor }').refine((currencies) => Object.keys(currencies).length > 0, {
    error: 'must list at least one currency: only listed currencies are accepted offline',
  }),
  perCard: strictObject({
    windowMinutes: wholeNumber(1, 10_080, 'minutes, at most 7 days'),
    maxCount: wholeNumber(0, null, 'offline approvals per card per window'),
    maxAmountMinor: perCurrency(amountMinor, 'amounts in minor units'),
  }),
  node: strictObject({
    maxStoredCount: wholeNumber(0, null, 'unforwarded offline approvals'),
    maxStoredAmountMinor: perCurrency(amountMinor, 'amounts in minor units'),
    forwardDeadlineHours: wholeNumber(1, 720, 'hours, at most 30 days'),
  }),
  hotCards: strictObject({
    version: wholeNumber(0, null, 'hot-card list version'),
    tokens: z.array(z.string({ error: 'must be a card token (non-empty string)' }).min(1, { error: 'must be a card token (non-empty string)' }), {
      error: 'must be an array of card tokens',
    }),
  }),
});

/** The rules file as written on disk (JSON). */
export type RulesConfig = z.input<typeof rulesSchema>;
export type ParsedRulesConfig = z.output<typeof rulesSchema>;
