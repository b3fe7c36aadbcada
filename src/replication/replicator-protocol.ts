import type { AnyReplyOf, Protocol } from '../actors/typed-protocol.js';
import type { NodeConfig } from '../config/node-config.js';
import type { CentreAnswers } from './broker/centre-relay.js';
import type { ReplicationConfig, ReplicatorTuning } from './config.js';
import type { SharedApprovals } from './replicas/replica-approvals.js';
import type { QuorumResult } from './peers/quorum.js';
import type { ReplicatorStatus } from './replicator.js';

/**
 * The node configuration as the replicator actor reads it. `replication` is optional here so this
 * type fits the node config whether or not the section is present; the actor refuses to start
 * without it.
 */
export type ReplicatorNodeConfig = Omit<NodeConfig, 'replication'> & { readonly replication?: ReplicationConfig };

export interface ReplicatorInit {
  readonly config: ReplicatorNodeConfig;
  /** Shorter timers for tests; production uses the defaults. */
  readonly tuning?: Partial<ReplicatorTuning>;
}

export type ReplicatorRequest =
  | { readonly type: 'status' }
  | { readonly type: 'approvals-since'; readonly wallMs: number }
  /** The journal committed new rows: publish them now rather than at the next poll. */
  | { readonly type: 'notify' }
  /** Wait until a majority of the reachable peers hold this node's entry `seq`, or the timeout. */
  | { readonly type: 'await-quorum'; readonly seq: number; readonly timeoutMs: number }
  /**
   * A centre request (a batch, an online authorization or reversal) on this node's connection;
   * `topic` must be this node's own `uplink` or `authorize` topic. Answered at the broker's PUBACK.
   */
  | { readonly type: 'centre-publish'; readonly topic: string; readonly payload: Uint8Array }
  /** The centre's answers held since the last take, or the first within `waitMs` (at most MAX_TAKE_WAIT_MS). */
  | { readonly type: 'centre-answers'; readonly waitMs: number };

export interface ReplicatorReplies {
  readonly status: ReplicatorStatus;
  readonly 'approvals-since': SharedApprovals;
  readonly notify: { readonly notified: true };
  readonly 'await-quorum': QuorumResult;
  readonly 'centre-publish': { readonly published: true };
  readonly 'centre-answers': CentreAnswers;
}

export type ReplicatorProtocol = Protocol<ReplicatorRequest, ReplicatorReplies>;
export type ReplicatorReply = AnyReplyOf<ReplicatorProtocol>;

export const REPLICATOR_MODULE = 'app/actors/replicator';
