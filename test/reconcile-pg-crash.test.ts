import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Centre } from '../src/central/centre.js';
import { PostgresLedger } from '../src/central/postgres-ledger.js';
import { Journal } from '../src/journal/journal.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { Uplink } from '../src/reconcile/uplink.js';
import { authorizationDraft } from './support/drafts.js';
import { usePostgresServer } from './support/postgres.js';
import { useTempDir } from './support/tmp.js';
import { nodeKeys, registerKeys, signedReadsOf } from './support/signed-forwarding.js';

/* The database under the centre dies (SIGKILL) in the middle of a drain, comes back, and the drain resumes. */

const postgres = usePostgresServer();
const tempDir = useTempDir('edgepay-pg-crash-');

describe('PostgreSQL killed under the centre mid-drain', () => {
  it('batches committed before the kill stay, the one in flight is all or nothing, and the resumed drain posts each entry once', async () => {
    const journal = Journal.open({ path: join(tempDir(), 'journal.db'), nodeId: 'box-1' });
    let total = 0;
    for (let i = 0; i < 300; i++) {
      const amountMinor = 100 + i;
      total += amountMinor;
      journal.append(authorizationDraft({ idempotencyKey: `k${i}`, amountMinor }));
    }
    const reader = new JournalReader(journal.path, 'box-1');
    const keys = nodeKeys(['box-1']);
    const uplinkJournal = {
      headSeq: () => journal.chainHead().seq,
      read: signedReadsOf(reader, keys.get('box-1')!),
      firstUnforwardedSeq: () => reader.firstUnforwardedSeq(),
      record: async (o: Parameters<Journal['recordForwarded']>[0]) => journal.recordForwarded(o),
    };
    let ledger = await PostgresLedger.open({ url: postgres().url, schema: 'crash' });
    await registerKeys(ledger, 's1', keys);
    let centre = new Centre({ backend: ledger, forwardDeadlineHours: 72 });
    let sent = 0;
    let killed: Promise<void> | undefined;
    const dying = new Uplink({
      origin: 'box-1',
      store: 's1',
      journal: uplinkJournal,
      centre: {
        send: async (batch) => {
          // The fourth batch reaches a database that is being killed.
          if (++sent === 4) killed = postgres().kill();
          return centre.ingest(batch);
        },
      },
      batchSize: 40,
    });
    await expect(dying.drain()).rejects.toThrow();
    await ledger.close().catch(() => undefined);
    const forwardedBefore = 300 - reader.totals().unforwarded;
    // Two batches are in flight at a time: the third may have died with the fourth.
    expect(forwardedBefore).toBeGreaterThanOrEqual(2 * 40);
    expect(forwardedBefore).toBeLessThan(300);

    await killed;
    await postgres().restart();
    ledger = await PostgresLedger.open({ url: postgres().url, schema: 'crash' });
    centre = new Centre({ backend: ledger, forwardDeadlineHours: 72 });
    // What the centre committed survived the kill: it never holds less than the node recorded.
    expect(await ledger.headOf('box-1')).toBeGreaterThanOrEqual(forwardedBefore);
    const resumed = await new Uplink({ origin: 'box-1', store: 's1', journal: uplinkJournal, centre: { send: (b) => centre.ingest(b) }, batchSize: 40 }).drain();
    expect(resumed.headSeq).toBe(300);

    const [report] = await ledger.originReports();
    const invariants = await ledger.checkInvariants();
    await ledger.close();
    reader.close();
    journal.close();
    expect(report).toMatchObject({ entries: 300, settled: 300, sumsMinor: { EUR: total }, merchantMinor: { EUR: total } });
    expect(invariants).toMatchObject({ unbalancedTransfers: 0, balanceMismatches: 0, transfers: 300 });
  }, 60_000);
});
