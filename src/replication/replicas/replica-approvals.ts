import type Database from 'better-sqlite3';
import type { PeerApproval } from '../../authorize/peer-exposure.js';

/**
 * An offline approval taken by another node of the store, as its replica shows it: signed by its
 * origin, which proves who claims it, not that it is plausible. Rows come back unjudged, dates
 * ahead of now included; PeerExposure decides what counts (peer-plausibility.ts).
 */
export type ReplicaApproval = PeerApproval;

/** An approved void of the origin's authorization `seq`: the card gets that room back. */
export interface ReplicaRelease {
  readonly origin: string;
  readonly seq: number;
}

export interface SharedApprovals {
  readonly approvals: ReplicaApproval[];
  readonly releases: ReplicaRelease[];
  /** More approvals matched than maxRows: the caller saw only the oldest maxRows. */
  readonly truncated: boolean;
}

/** A store's offline approvals inside one card window stay far below this; it bounds one answer's memory. */
export const DEFAULT_MAX_APPROVAL_ROWS = 100_000;

const APPROVALS_SQL = `
  SELECT node_id, seq, card_token, currency, amount_minor, wall_ms FROM replica_entries
  WHERE approved = 1 AND kind = 'authorization' AND decision_mode = 'offline' AND wall_ms >= ?
  ORDER BY wall_ms, node_id, seq LIMIT ?`;

// A void follows its authorization, so releasing only approvals inside the window loses nothing.
const RELEASES_SQL = `
  SELECT v.node_id, v.ref_seq FROM replica_entries v
  JOIN replica_entries a ON a.node_id = v.node_id AND a.seq = v.ref_seq
  WHERE v.approved = 1 AND v.kind = 'void'
    AND a.approved = 1 AND a.kind = 'authorization' AND a.decision_mode = 'offline' AND a.wall_ms >= ?
  ORDER BY v.node_id, v.ref_seq`;

type ApprovalRow = [origin: string, seq: number, token: string, currency: string, amountMinor: number, wallMs: number];

export function readApprovalsSince(db: Database.Database, wallMs: number, maxRows = DEFAULT_MAX_APPROVAL_ROWS): SharedApprovals {
  const rows = db
    .prepare(APPROVALS_SQL)
    .raw(true)
    .all(wallMs, maxRows + 1) as ApprovalRow[];
  const truncated = rows.length > maxRows;
  const approvals = rows.slice(0, maxRows).map(([origin, seq, token, currency, amountMinor, at]) => ({ origin, seq, token, currency, amountMinor, wallMs: at }));
  const releases = (db.prepare(RELEASES_SQL).raw(true).all(wallMs) as [string, number][]).map(([origin, seq]) => ({ origin, seq }));
  return { approvals, releases, truncated };
}
