export { StandIn, type StandInOptions } from './stand-in.js';
export type { Outcome } from './outcome.js';
export { type AuthorizationRequest, type FollowUpRequest, type FollowUpKind, parseAuthorizationRequest, parseFollowUpRequest } from './requests.js';
export { rebuildExposure } from './rebuild.js';
export { type OnlineAnswer, decideWithOnline } from './online-decision.js';
