import type { HeldEntry } from '../central/ledger-backend.js';
import type { JournalReader } from '../journal/journal-reader.js';

export interface EntryDifference {
  readonly seq: number;
  readonly idempotencyKey: string | null;
  readonly amountMinor: number | null;
  readonly currency: string | null;
  readonly why: string;
}

const CHUNK = 5_000;

/**
 * Every entry on which the journal and the centre's ledger disagree, walking both in sequence
 * order: not held by the centre, held with a different hash (a fork or a restored journal), or
 * held by the centre beyond this journal's head. Lists at most `max`; counts all.
 */
export async function entryDifferences(
  reader: JournalReader,
  held: (fromSeq: number, limit: number) => Promise<readonly HeldEntry[]>,
  max: number,
): Promise<{ readonly differences: EntryDifference[]; readonly count: number }> {
  const differences: EntryDifference[] = [];
  let count = 0;
  const note = (difference: EntryDifference): void => {
    count++;
    if (differences.length < max) differences.push(difference);
  };
  const head = reader.headSeq();
  for (let from = 1; from <= head; from += CHUNK) {
    const mine = reader.read(from, CHUNK);
    const theirs = new Map((await held(from, CHUNK)).map((h) => [h.seq, h]));
    for (const entry of mine) {
      const at = theirs.get(entry.seq);
      const brief = { seq: entry.seq, idempotencyKey: entry.idempotencyKey, amountMinor: entry.amountMinor, currency: entry.currency };
      if (at === undefined) note({ ...brief, why: 'not held by the centre' });
      else if (at.hash !== entry.hash) note({ ...brief, why: 'the centre holds a different entry under this sequence number' });
    }
  }
  for (const extra of await held(head + 1, CHUNK)) {
    note({ seq: extra.seq, idempotencyKey: null, amountMinor: null, currency: null, why: 'held by the centre but not in this journal (restored from an older copy?)' });
  }
  return { differences, count };
}
