import { CodedError } from '../errors.js';

/** Why publishing signed rules to a store's broker did not complete. */
export type RulesPublishErrorCode =
  /** The broker could not be reached, or refused the connection (credentials). */
  | 'EDGEPAY_RULES_UNREACHABLE'
  /** Connected, but the broker did not take the message: no PUBACK, no read-back, or a refused subscription (ACL). */
  | 'EDGEPAY_RULES_NOT_ACCEPTED'
  /**
   * The broker retains rules at a higher version (or other rules at the same one). Retaining older
   * rules would not roll running nodes back, but a node starting later would get the older set.
   */
  | 'EDGEPAY_RULES_OLDER_THAN_RETAINED';

export class RulesPublishError extends CodedError<RulesPublishErrorCode> {}

export function isRulesPublishError(value: unknown, code?: RulesPublishErrorCode): value is RulesPublishError {
  return value instanceof RulesPublishError && (code === undefined || value.code === code);
}
