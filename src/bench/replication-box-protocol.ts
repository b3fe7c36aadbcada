import type { CardFacts } from '../card/card-facts.js';
import type { JournalEntry } from '../journal/entry.js';
import type { ReplicationConfig } from '../replication/config.js';
import type { ReplicatorStatus } from '../replication/replicator.js';
import type { ReplicaHead } from '../replication/replicas/replica-store.js';
import type { RawStreamsPlan, RawStreamsReceived, RawStreamsSent } from './replication-raw-streams.js';

/** What one box (one node of the store: journal, stand-in, replicator) is started with. */
export interface BoxInit {
  readonly nodeId: string;
  readonly dir: string;
  readonly brokerUrl: string;
  readonly fleet: string;
  readonly store: string;
  readonly signingKeyFile: string;
  readonly peers: ReplicationConfig['peers'];
  readonly inflightWindow: number;
  readonly cards: readonly CardFacts[];
}

/** Per-node figures of one load; the fleet adds the nodes up. */
export interface BoxWrites {
  readonly node: string;
  readonly written: number;
  /** Commits per second on this node's journal, from the load's start to its last commit. */
  readonly entriesPerSec: number;
  readonly errors: number;
  readonly firstError: string | null;
}

export interface BoxPacedWrites extends BoxWrites {
  /** Commit → quorum result per decision, when the load waited for quorum. */
  readonly quorumMs: number[];
  readonly reached: number;
  readonly localOnly: number;
}

/**
 * Times are milliseconds since the epoch (`performance.timeOrigin + performance.now()`): one
 * monotonic clock every thread of the process reads alike, so a commit in one box and its store in
 * another subtract.
 */
export interface BoxEvents {
  /** Own commits as (seq, at) pairs. */
  readonly commits: number[];
  /** Peers' entries stored in the replicas as (origin, seq, at). */
  readonly stored: [string, number, number][];
  /** Share of the time since the last take that this box's thread was busy. */
  readonly eventLoopUtilization: number;
  /** Own entries published since the last take, and the messages that carried them. */
  readonly published: number;
  readonly messages: number;
}

export interface BoxHeads {
  readonly own: ReplicaHead;
  /** Replica heads by origin; absent while the replicator is stopped. */
  readonly replicas: Record<string, ReplicaHead> | null;
}

export interface BoxVerify {
  /** Per origin: the replica re-hashed from genesis, entries checked and the head it ends at. */
  readonly [origin: string]: { readonly ok: boolean; readonly checked: number; readonly headHash: string };
}

export interface BoxLogTally {
  readonly warnings: number;
  readonly errors: number;
  readonly first: readonly string[];
}

export type BoxRequest =
  | { readonly type: 'sample-entry' }
  | { readonly type: 'raw-open'; readonly plan: RawStreamsPlan }
  | { readonly type: 'raw-send' }
  | { readonly type: 'raw-received'; readonly expected: number; readonly timeoutMs: number }
  | { readonly type: 'raw-close' }
  | { readonly type: 'start-replicator' }
  | { readonly type: 'stop-replicator' }
  | { readonly type: 'burst'; readonly entries: number; readonly concurrency: number; readonly tag: string }
  | { readonly type: 'paced'; readonly ratePerSec: number; readonly seconds: number; readonly tag: string; readonly quorumTimeoutMs?: number }
  | { readonly type: 'take-events' }
  | { readonly type: 'heads' }
  | { readonly type: 'status' }
  | { readonly type: 'verify' }
  | { readonly type: 'log' };

export type BoxReply = JournalEntry | RawStreamsSent | RawStreamsReceived | BoxWrites | BoxPacedWrites | BoxEvents | BoxHeads | ReplicatorStatus | BoxVerify | BoxLogTally | { readonly ok: true };
