/**
 * Response codes a decision can carry. Y1/Y3/Z1/Z3 are the EMV offline results; the two-digit codes
 * are ISO 8583 action codes, kept so that reports and the centre read the same vocabulary.
 */
export type DecisionCode = 'Y1' | 'Y3' | 'Z1' | 'Z3' | '00' | '05' | '14' | '43' | '51' | '54' | '57' | '61' | '65' | '68' | '91';

/** Which rule produced a decision, so operators and metrics can group declines by cause. */
export type RuleId =
  | 'currency'
  | 'check_digit'
  | 'expiry'
  | 'hot_card'
  | 'floor_limit'
  | 'card_count'
  | 'card_amount'
  | 'forward_deadline'
  | 'node_count'
  | 'node_amount'
  | 'approved'
  | 'follow_up'
  /** Decided online by the centre (issuer side), not by the offline rules. */
  | 'centre'
  | 'system';

export interface Decision {
  readonly approved: boolean;
  readonly code: DecisionCode;
  /** Written for a person: names the numbers that led to the decision. */
  readonly reason: string;
  readonly rule: RuleId;
  readonly mode: 'offline' | 'online';
}

/** For when the node cannot decide at all (journal unwritable, actor down): the reader still gets an answer. */
export function systemUnavailable(reason: string): Decision {
  return offlineDecision(false, '91', 'system', reason);
}

/** Every decision edgepay makes at the edge is made without the issuer, hence always mode 'offline'. */
export function offlineDecision(approved: boolean, code: DecisionCode, rule: RuleId, reason: string): Decision {
  return { approved, code, reason, rule, mode: 'offline' };
}
