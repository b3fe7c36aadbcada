import { ExposureState } from '../authorize/exposure.js';
import type { Rules } from '../authorize/rules.js';
import type { Journal } from '../journal/journal.js';

/**
 * Exposure is derived from the journal alone: replay offline approvals and the voids that released
 * them, then the forwarding marks, then drop what has left every window. No second source of truth
 * can disagree with the journal after a crash.
 */
export function rebuildExposure(journal: Journal, rules: Rules, nowWallMs: number): ExposureState {
  const exposure = new ExposureState();
  for (const entry of journal.entries()) {
    if (!entry.decision.approved) continue;
    if (entry.kind === 'authorization' && entry.decision.mode === 'offline') {
      exposure.recordApproval({
        seq: entry.seq,
        token: entry.cardToken,
        currency: entry.currency,
        amountMinor: entry.amountMinor,
        wallMs: entry.wallMs,
      });
    } else if (entry.kind === 'void' && entry.refSeq !== null) {
      exposure.recordRelease(entry.refSeq);
    }
  }
  for (const seq of journal.forwardedSeqs()) exposure.markForwarded(seq);
  exposure.prune(nowWallMs - rules.perCard.windowMinutes * 60_000);
  return exposure;
}
