import type { DecisionCode } from '../authorize/codes.js';

/**
 * What each response code means, in a few words, for the staff's status page; the decision's own
 * reason (with its numbers) goes beside it. Typed over DecisionCode, so a new code cannot be added
 * without a meaning here.
 */
const MEANINGS: Readonly<Record<DecisionCode, string>> = {
  Y1: 'approved offline by the card',
  Y3: 'approved offline',
  Z1: 'declined offline by the card',
  Z3: 'declined offline',
  '00': 'approved',
  '05': 'do not honour',
  '14': 'invalid card number',
  '43': 'stolen card',
  '51': 'insufficient funds',
  '54': 'expired card',
  '57': 'not permitted',
  '61': 'over the amount limit',
  '65': 'over the count limit',
  '68': 'no answer in time',
  '91': 'system unavailable',
};

/** The meaning of a response code, or null for one this table does not know (an older or newer peer's). */
export function codeMeaning(code: string): string | null {
  return Object.hasOwn(MEANINGS, code) ? MEANINGS[code as DecisionCode] : null;
}
