import { CodedError } from '../errors.js';

/**
 * Failures of replication carry stable codes like every edgepay error. They live beside the code
 * that raises them because they describe the link between nodes, not a payment.
 */
export type ReplicationErrorCode =
  /** A key file is missing, unreadable, not PEM, or not an Ed25519 key of the expected kind. */
  | 'EDGEPAY_REPLICATION_KEY_INVALID'
  /** A fleet, store or node id cannot be a topic level (empty, wildcard, slash, reserved). */
  | 'EDGEPAY_REPLICATION_BAD_ID'
  /** The replication settings are inconsistent (duplicate peer, self listed as peer, bad bound). */
  | 'EDGEPAY_REPLICATION_CONFIG'
  /** The node configuration has no `replication` section, so there is nothing to start. */
  | 'EDGEPAY_REPLICATION_NOT_CONFIGURED'
  /** replicas.db cannot be opened or written, or belongs to another node. */
  | 'EDGEPAY_REPLICATION_STORE_IO'
  /** An invariant of a replica chain or of the outbox does not hold: a bug, never a peer's fault. */
  | 'EDGEPAY_REPLICATION_INVARIANT'
  /** The node's own journal does not look like this node's journal (wrong node, gap). */
  /** The replicator was used after stop(). */
  | 'EDGEPAY_REPLICATION_STOPPED';

export class ReplicationError extends CodedError<ReplicationErrorCode> {}

export function isReplicationError(value: unknown, code?: ReplicationErrorCode): value is ReplicationError {
  return value instanceof ReplicationError && (code === undefined || value.code === code);
}
