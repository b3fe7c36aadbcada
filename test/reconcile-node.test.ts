import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { withLuhnDigit } from '../src/card/luhn.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { journalPathOf } from '../src/config/node-config.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { newNodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-uplink-');

const payment = (key: string, n: number) => ({
  idempotencyKey: key,
  amountMinor: 100 + n,
  currency: 'EUR',
  card: { pan: withLuhnDigit(`4000${String(n).padStart(11, '0')}`), expiryYymm: '2912' },
});

describe('the node forwards its journal to the centre by itself', () => {
  it('the uplink actor drains every round and after a restart; journal and ledger agree', async () => {
    const dir = tempDir();
    const config = await newNodeConfigIn(dir, { centre: { store: 'store-9', ledger: { sqliteFile: 'centre.db' }, batchSize: 4, intervalMs: 60_000 } });
    let node = await NodeRuntime.start({ config, registry: new Registry() });
    for (let n = 0; n < 10; n++) await node.pay(payment(`a${n}`, n));
    const first = await node.askOnce('uplink', { type: 'drain' }, 10_000);
    // The startup round may have taken some already; between them, all ten are held now.
    expect(first.headSeq).toBe(10);

    for (let n = 10; n < 15; n++) await node.pay(payment(`b${n}`, n));
    await node.stop();
    node = await NodeRuntime.start({ config, registry: new Registry() });
    // The first round runs at start: the five written before the restart go without being asked.
    await expect.poll(async () => (await node.askOnce('uplink', { type: 'status' }, 5_000)).lastReport?.headSeq, { timeout: 10_000 }).toBe(15);
    await node.stop();

    const reader = new JournalReader(journalPathOf(config), config.nodeId);
    const totals = reader.totals();
    reader.close();
    expect(totals).toMatchObject({ entries: 15, unforwarded: 0, outcomes: { settled: 15 } });
    const ledger = SqliteLedger.open(join(dir, 'centre.db'));
    const [report] = await ledger.originReports();
    const invariants = await ledger.checkInvariants();
    await ledger.close();
    expect(report).toMatchObject({ origin: config.nodeId, store: 'store-9', entries: 15, settled: 15, sumsMinor: totals.sumsMinor, merchantMinor: totals.sumsMinor });
    expect(invariants).toMatchObject({ unbalancedTransfers: 0, balanceMismatches: 0, transfers: 15 });
  }, 60_000);
});
