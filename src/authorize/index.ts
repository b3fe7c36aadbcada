export { type Decision, type DecisionCode, type RuleId, systemUnavailable } from './codes.js';
export { type Rules, type RulesConfig, type CurrencyRules, type PerCurrency, parseRules } from '../rules/rules.js';
export { defaultRules, defaultRulesConfig } from '../rules/defaults.js';
export type { ExposureTotals, ExposureView } from './exposure-view.js';
export { type ApprovalRecord, type ExposureUndo, ExposureState } from './exposure.js';
export { type AuthorizationInput, decideAuthorization } from './decide.js';
export { type CardCheck, type CardCheckInput, cardDecline, checkCard } from './card-checks.js';
export { type FollowUpKind, type FollowUpOriginal, type FollowUpPrior, decideFollowUp } from './follow-up.js';
export { type PeerApproval, PeerExposure, storeExposure } from './peer-exposure.js';
