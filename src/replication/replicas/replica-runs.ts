import type { JournalEntry } from '../../journal/entry.js';
import type { HeldEntry } from '../../wire/envelope.js';
import { RUN_MAX } from '../../wire/envelope.js';

export interface SignedRun {
  readonly entries: readonly JournalEntry[];
  /** The origin's signature of the run's last entry, which vouches for the others through the chain. */
  readonly signature: Buffer;
}

/**
 * Cuts consecutive held entries into runs that each end at a signed entry, so every run can be
 * sent as one message its recipient verifies on its own. Entries after the last signed one are
 * left out: they wait until the stretch that vouches for them is held too. A stored stretch
 * always ends signed (runs are stored whole), so such a tail is only left by a run cut short by a
 * fork or a full pending buffer, and the next repair closes it.
 */
export function signedRuns(entries: readonly HeldEntry[]): SignedRun[] {
  const runs: SignedRun[] = [];
  let start = 0;
  for (let i = 0; i < entries.length; i++) {
    const signature = entries[i]!.signature;
    if (signature === null) continue;
    // Stored stretches between signatures are at most RUN_MAX long; the cap only guards the message size.
    runs.push({ entries: entries.slice(Math.max(start, i + 1 - RUN_MAX), i + 1), signature });
    start = i + 1;
  }
  return runs;
}
