import type { AnyReplyOf, Protocol } from '../actors/typed-protocol.js';
import type { RawCard } from '../card/capture.js';
import type { FollowUpRequest, Outcome } from '../standin/index.js';
import type { NodeConfig } from '../config/node-config.js';

/** A payment as a lane hands it over: the card as read, before capture. */
export interface PaymentRequest {
  readonly idempotencyKey: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly card: RawCard;
  readonly lane?: string;
  readonly reference?: string;
}

export type IntakeRequest = { readonly type: 'pay'; readonly payment: PaymentRequest } | { readonly type: 'follow-up'; readonly request: FollowUpRequest };

export interface IntakeReplies {
  readonly pay: Outcome;
  readonly 'follow-up': Outcome;
}

export type IntakeProtocol = Protocol<IntakeRequest, IntakeReplies>;
export type IntakeReply = AnyReplyOf<IntakeProtocol>;

export interface IntakeInit {
  readonly config: NodeConfig;
}

export const INTAKE_MODULE = 'app/actors/intake';
