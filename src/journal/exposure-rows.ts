import type Database from 'better-sqlite3';

/**
 * The rows a node's offline exposure is rebuilt from at its start: every approved offline
 * authorization that still counts (not forwarded yet, whatever its age, or inside the per-card
 * window) and the approved voids of those. Found through the unforwarded table and the index of
 * offline approvals by time (schema 3), so a start reads what counts and not the whole journal.
 */
export type ExposureRow = [
  seq: number,
  kind: 'authorization' | 'void',
  cardToken: string,
  currency: string,
  amountMinor: number,
  wallMs: number,
  refSeq: number | null,
  /** 1 when the centre holds the entry. */
  forwarded: 0 | 1,
];

export const EXPOSURE_ROWS_SQL = `
  WITH counted (seq) AS (
    SELECT e.seq FROM unforwarded u CROSS JOIN entries e ON e.seq = u.seq
    WHERE e.approved = 1 AND e.kind = 'authorization' AND e.decision_mode = 'offline'
    UNION
    SELECT seq FROM entries INDEXED BY offline_approvals_by_time
    WHERE approved = 1 AND kind = 'authorization' AND decision_mode = 'offline' AND wall_ms >= @since
  )
  SELECT e.seq, e.kind, e.card_token, e.currency, e.amount_minor, e.wall_ms, e.ref_seq,
         NOT EXISTS (SELECT 1 FROM unforwarded u WHERE u.seq = e.seq) AS forwarded
  FROM counted c CROSS JOIN entries e ON e.seq = c.seq
  UNION ALL
  SELECT v.seq, v.kind, v.card_token, v.currency, v.amount_minor, v.wall_ms, v.ref_seq,
         NOT EXISTS (SELECT 1 FROM unforwarded u WHERE u.seq = v.seq)
  FROM counted c CROSS JOIN entries v ON v.ref_seq = c.seq
  WHERE v.ref_seq IS NOT NULL AND v.kind = 'void' AND v.approved = 1
  ORDER BY 1`;

/** Streamed in sequence order, so a void always follows the approval it releases. */
export function exposureRows(db: Database.Database, sinceWallMs: number): IterableIterator<ExposureRow> {
  return db.prepare(EXPOSURE_ROWS_SQL).raw(true).iterate({ since: sinceWallMs }) as IterableIterator<ExposureRow>;
}
