import type { AnyReplyOf, Protocol } from '../actors/typed-protocol.js';
import type { Decision } from '../authorize/codes.js';
import type { PeerApproval } from '../authorize/peer-exposure.js';
import type { PeerIgnoredCounts } from '../authorize/peer-plausibility.js';
import type { RulesConfig } from '../rules/rules.js';
import type { ChainHead, ForwardedOutcome } from '../journal/journal.js';
import type { AuthorizationRequest, FollowUpRequest, Outcome } from '../standin/index.js';
import type { LatencySnapshot } from '../metrics/latency-buckets.js';
import type { NodeConfig } from '../config/node-config.js';

/** The journal writer is the only actor that writes the journal; these are the only things it does. */
export type JournalWriterRequest =
  | { readonly type: 'authorize'; readonly request: AuthorizationRequest }
  /** The card checks alone under the rules in force, asked before the centre is (online authorization). */
  | { readonly type: 'check-card'; readonly request: AuthorizationRequest }
  | { readonly type: 'follow-up'; readonly request: FollowUpRequest }
  | { readonly type: 'forwarded'; readonly seqs: readonly number[] }
  /** The centre holds these entries now, with what it made of each (reconciliation). */
  | { readonly type: 'settled'; readonly outcomes: readonly ForwardedOutcome[] }
  | { readonly type: 'head' }
  /** Peers' offline approvals and voids, from their replicated journals (shared exposure, P5). */
  | { readonly type: 'peer-entries'; readonly approvals: readonly PeerApproval[]; readonly releases: readonly { origin: string; seq: number }[] }
  /** Sizes of the exposure bookkeeping, for metrics and status. */
  | { readonly type: 'exposure' }
  /** Group commit latency counts since this journal writer started, for the metrics. */
  | { readonly type: 'commit-latency' }
  /**
   * New rules (distributed, already verified and persisted by the replicator). Applied only above
   * the version in force: the answer says whether they were and which version decides now.
   */
  | { readonly type: 'set-rules'; readonly rules: RulesConfig };

export interface SetRulesResult {
  readonly applied: boolean;
  readonly rulesVersion: number;
}

/** The offline decline for the card whatever the limits, or null when it passes every card check. */
export interface CardCheckReply {
  readonly declined: Decision | null;
}

export interface ExposureSummary {
  readonly ownApprovalsTracked: number;
  readonly storedUnforwarded: number;
  readonly peerApprovals: number;
  /** Peers' approvals left out of shared exposure as implausible since this journal writer started, by reason. */
  readonly peerApprovalsIgnored: PeerIgnoredCounts;
}

export interface JournalWriterReplies {
  readonly authorize: Outcome;
  readonly 'check-card': CardCheckReply;
  readonly 'follow-up': Outcome;
  readonly forwarded: { readonly forwarded: number };
  readonly settled: { readonly forwarded: number };
  readonly head: ChainHead;
  readonly 'peer-entries': { readonly recorded: number };
  readonly exposure: ExposureSummary;
  readonly 'commit-latency': LatencySnapshot;
  readonly 'set-rules': SetRulesResult;
}

export type JournalWriterProtocol = Protocol<JournalWriterRequest, JournalWriterReplies>;
export type JournalWriterReply = AnyReplyOf<JournalWriterProtocol>;

export interface JournalWriterInit {
  readonly config: NodeConfig;
}

export const JOURNAL_WRITER_MODULE = 'app/actors/journal-writer';
