import { ExposureState } from '../authorize/exposure.js';
import type { Rules } from '../rules/rules.js';
import type { Journal } from '../journal/journal.js';

/**
 * Exposure is derived from the journal alone, so no second source of truth can disagree with it
 * after a crash. Approvals stamped after `now` (a clock that jumped back) are kept: they were spent.
 * Only the rows that can still count are read (Journal.exposureRows), with no entry objects built.
 */
export function rebuildExposure(journal: Journal, rules: Rules, nowWallMs: number): ExposureState {
  const exposure = new ExposureState();
  const since = nowWallMs - rules.perCard.windowMinutes * 60_000;
  for (const [seq, kind, token, currency, amountMinor, wallMs, refSeq, forwarded] of journal.exposureRows(since)) {
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
