import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HeldEntry } from '../src/central/ledger-backend.js';
import { Journal } from '../src/journal/journal.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { entryDifferences } from '../src/reconcile/entry-differences.js';
import { authorizationDraft } from './support/drafts.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-differences-');

describe('per-entry reconciliation', () => {
  it('names each entry missing at the centre, held there differently, or held there beyond the journal', async () => {
    const journal = Journal.open({ path: join(tempDir(), 'journal.db'), nodeId: 'n1' });
    const entries = [1, 2, 3, 4].map((i) => journal.append(authorizationDraft({ amountMinor: i * 100 })));
    const reader = new JournalReader(journal.path, 'n1');
    const held: HeldEntry[] = [
      { seq: 1, hash: entries[0]!.hash, result: 'settled', reason: null },
      { seq: 2, hash: 'f'.repeat(64), result: 'settled', reason: null },
      { seq: 4, hash: entries[3]!.hash, result: 'settled', reason: null },
      { seq: 5, hash: 'e'.repeat(64), result: 'settled', reason: null },
    ];
    const found = await entryDifferences(reader, async (from, limit) => held.filter((h) => h.seq >= from).slice(0, limit), 10);
    expect(found.count).toBe(3);
    expect(found.differences.map((d) => [d.seq, d.why])).toEqual([
      [2, 'the centre holds a different entry under this sequence number'],
      [3, 'not held by the centre'],
      [5, 'held by the centre but not in this journal (restored from an older copy?)'],
    ]);
    expect(found.differences[1]).toMatchObject({ idempotencyKey: entries[2]!.idempotencyKey, amountMinor: 300, currency: 'EUR' });
    // Listing stops at the limit; counting does not.
    expect(await entryDifferences(reader, async (from, limit) => held.filter((h) => h.seq >= from).slice(0, limit), 1)).toMatchObject({ count: 3, differences: [{ seq: 2 }] });
    reader.close();
    journal.close();
  });
});
