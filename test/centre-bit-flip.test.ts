import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totalsOf } from '../src/central/batch.js';
import { Centre } from '../src/central/centre.js';
import { decodeRequest, encodeRequest } from '../src/central/centre-wire.js';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import type { JournalEntry } from '../src/journal/entry.js';
import { Journal } from '../src/journal/journal.js';
import { signEntry } from '../src/wire/envelope.js';
import { authorizationDraft } from './support/drafts.js';
import { nodeKeys, registerKeys } from './support/signed-forwarding.js';
import { useTempDir } from './support/tmp.js';

/*
 * A batch as the centre receives it, with one bit flipped anywhere in what it says (store, origin,
 * sender, totals, any field of any entry, the signature): the centre posts nothing of it, whether
 * the message no longer parses or parses into something the chain or the signature disowns.
 */

const tempDir = useTempDir('edgepay-bit-flip-');
const KEYS = nodeKeys(['box-1']);
let ledger: SqliteLedger;
let centre: Centre;
let entries: JournalEntry[];

beforeAll(async () => {
  const dir = tempDir();
  ledger = SqliteLedger.open(join(dir, 'centre.db'));
  await registerKeys(ledger, 's', KEYS);
  centre = new Centre({ backend: ledger, forwardDeadlineHours: 72 });
  const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: 'box-1' });
  entries = [];
  for (let i = 0; i < 6; i++) {
    const draft = authorizationDraft({ idempotencyKey: `k-${i}`, amountMinor: 1_000 + i * 111, sealedCard: new Uint8Array([i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) });
    entries.push(journal.append(i === 3 ? { ...draft, kind: 'refund', refSeq: 1, sealedCard: null } : draft));
  }
  journal.close();
});
afterAll(() => ledger.close());

function genuineRequest(count: number): Buffer {
  const batch = entries.slice(0, count);
  return encodeRequest('corr', { batchId: 'b', store: 's', origin: 'box-1', sender: 'box-1', entries: batch, totals: totalsOf(batch), signature: signEntry(batch.at(-1)!, KEYS.get('box-1')!.privateKey) });
}

describe('one flipped bit', () => {
  it('in any field of a signed batch: the centre posts nothing of it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: entries.length }), fc.nat(), fc.integer({ min: 0, max: 7 }), async (count, at, bit) => {
        const payload = genuineRequest(count);
        // Everything from the store on: the correlation and batch ids name the message, they do not say anything.
        const from = payload.indexOf('"store":');
        const index = from + (at % (payload.length - from));
        const flipped = Buffer.from(payload);
        flipped[index] = flipped[index]! ^ (1 << bit);
        const decoded = decodeRequest(flipped);
        if ('problem' in decoded) return;
        const answer = await centre.ingest(decoded.batch);
        expect(answer.ok).toBe(false);
      }),
      { numRuns: 400 },
    );
    expect(await ledger.originReports()).toEqual([]);
    expect((await ledger.checkInvariants()).transfers).toBe(0);
    // The same batch unflipped is taken: the refusals above were the flips, not the batch.
    const decoded = decodeRequest(genuineRequest(entries.length));
    expect('batch' in decoded && (await centre.ingest(decoded.batch)).ok).toBe(true);
    expect((await ledger.originReports())[0]).toMatchObject({ origin: 'box-1', entries: entries.length });
  }, 60_000);
});
