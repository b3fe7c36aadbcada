import { ExposureState } from '../authorize/exposure.js';
import type { Rules } from '../authorize/rules.js';
import type { Journal } from '../journal/journal.js';

/*
 * Only the rows that can still count are read, and only the columns exposure needs: approved
 * offline authorizations that are unforwarded or inside the per-card window, and approved voids.
 * On a journal of a million entries this is a single pass with no entry objects built.
 */
const EXPOSURE_ROWS_SQL = `
  SELECT e.seq, e.kind, e.card_token, e.currency, e.amount_minor, e.wall_ms, e.ref_seq,
         (f.seq IS NOT NULL) AS forwarded
  FROM entries e LEFT JOIN forwarded f ON f.seq = e.seq
  WHERE e.approved = 1
    AND ((e.kind = 'authorization' AND e.decision_mode = 'offline' AND (f.seq IS NULL OR e.wall_ms >= @since))
         OR e.kind = 'void')
  ORDER BY e.seq`;

type ExposureRow = [seq: number, kind: string, token: string, currency: string, amountMinor: number, wallMs: number, refSeq: number | null, forwarded: number];

/**
 * Exposure is derived from the journal alone, so no second source of truth can disagree with it
 * after a crash. Approvals stamped after `now` (a clock that jumped back) are kept: they were spent.
 */
export function rebuildExposure(journal: Journal, rules: Rules, nowWallMs: number): ExposureState {
  const exposure = new ExposureState();
  const since = nowWallMs - rules.perCard.windowMinutes * 60_000;
  const rows = journal.connection().prepare(EXPOSURE_ROWS_SQL).raw(true).iterate({ since }) as IterableIterator<ExposureRow>;
  for (const [seq, kind, token, currency, amountMinor, wallMs, refSeq, forwarded] of rows) {
    if (kind === 'void') {
      if (refSeq !== null) exposure.recordRelease(refSeq);
      continue;
    }
    exposure.recordApproval({ seq, token, currency, amountMinor, wallMs });
    if (forwarded === 1) exposure.markForwarded(seq);
  }
  exposure.prune(since);
  return exposure;
}
