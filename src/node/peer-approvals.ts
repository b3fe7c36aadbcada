import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { PeerApproval } from '../authorize/peer-exposure.js';
import { readApprovalsSince } from '../replication/replicas/replica-approvals.js';

/**
 * Peers' offline approvals in the current card window, read from the replicas this node holds,
 * through a read-only connection (the replicator is the replicas' only writer).
 */
export interface LoadedPeerApprovals {
  readonly approvals: PeerApproval[];
  readonly releases: { origin: string; seq: number }[];
  /** Why nothing could be read; the node still starts (its own limits hold), and says so. */
  readonly problem?: string;
}

/** `replicasPath`: the replicator's replicas.db; undefined for a node without replication. */
export function loadPeerApprovals(replicasPath: string | undefined, sinceWallMs: number): LoadedPeerApprovals {
  const path = replicasPath;
  if (path === undefined || !existsSync(path)) return { approvals: [], releases: [] };
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const shared = readApprovalsSince(db, sinceWallMs);
    return { approvals: shared.approvals, releases: shared.releases };
  } catch (error) {
    return { approvals: [], releases: [], problem: `cannot read peers' approvals from ${path}: ${(error as Error).message}` };
  } finally {
    db?.close();
  }
}
