import { type CardCheckInput, cardDecline } from '../authorize/card-checks.js';
import type { Decision } from '../authorize/codes.js';
import type { Rules } from '../rules/rules.js';
import type { AuthorizationRequest } from './requests.js';

export type OnlineAnswer = NonNullable<AuthorizationRequest['online']>;

/**
 * The decision a node records for a payment the centre answered online. The node's own card
 * checks (currency, check digit, expiry, its hot list) still hold: the node does not ask the centre
 * about a card that fails one, and should an answer arrive for one anyway (the hot list changed
 * while it was in flight, or a centre that is wrong or not the centre), the node's decline is
 * recorded in its place. Only the limits (floor, per card, per node) are the centre's to lift.
 * Pure, like decideAuthorization.
 */
export function decideWithOnline(request: CardCheckInput, online: OnlineAnswer, rules: Pick<Rules, 'currencies' | 'hotCards'>, nowWallMs: number): Decision {
  return cardDecline(request, rules, nowWallMs) ?? { approved: online.approved, code: online.code, reason: online.reason, rule: 'centre', mode: 'online' };
}
