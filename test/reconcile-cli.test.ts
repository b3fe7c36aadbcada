import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { Journal } from '../src/journal/journal.js';
import { journalPathOf } from '../src/config/node-config.js';
import type { ReconciliationReport } from '../src/reconcile/report.js';
import { runCli } from './support/cli.js';
import { authorizationDraft } from './support/drafts.js';
import { nodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-reconcile-cli-');

async function nodeWithBacklog(): Promise<{ configFile: string; ledgerFile: string; amounts: number[] }> {
  const dir = tempDir();
  const centre = { store: 'store-7', ledger: { sqliteFile: 'centre/ledger.db' }, batchSize: 3 };
  const config = await nodeConfigIn(dir, { centre });
  const configFile = join(dir, 'node.json');
  writeFileSync(configFile, JSON.stringify({ nodeId: config.nodeId, dataDir: 'data', keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true }, centre }));
  const journal = Journal.open({ path: journalPathOf(config), nodeId: config.nodeId });
  const amounts = [1250, 990, 4000, 75, 310, 2200, 15];
  const entries = amounts.map((amountMinor) => journal.append(authorizationDraft({ amountMinor })));
  journal.append(authorizationDraft({ kind: 'void', refSeq: entries[1]!.seq, amountMinor: 990, sealedCard: null }));
  journal.close();
  return { configFile, ledgerFile: join(dir, 'centre', 'ledger.db'), amounts };
}

describe('edgepay reconcile', () => {
  it('status shows the backlog and exits 1; run forwards it in batches, after which both sides match to the minor unit', async () => {
    const { configFile, ledgerFile, amounts } = await nodeWithBacklog();
    const before = runCli(['reconcile', 'status', '--config', configFile, '--json']);
    expect(before.status).toBe(1);
    const pending = JSON.parse(before.stdout) as ReconciliationReport;
    expect(pending.journal).toMatchObject({ entries: 8, unforwarded: 8, sumsMinor: { EUR: amounts.reduce((a, b) => a + b, 0) + 990 } });
    expect(pending.centre).toBeNull();
    expect(pending.differences).toContain('8 entries not forwarded yet');
    expect(pending.differingEntries.count).toBe(8);
    expect(pending.differingEntries.listed[0]).toMatchObject({ seq: 1, amountMinor: 1250, currency: 'EUR', why: 'not held by the centre' });

    const run = runCli(['reconcile', 'run', '--config', configFile, '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const done = JSON.parse(run.stdout) as ReconciliationReport;
    expect(done.matched).toBe(true);
    expect(done.differingEntries).toEqual({ count: 0, listed: [] });
    expect(done.exceptions).toEqual([]);
    expect(done.journal.unforwarded).toBe(0);
    expect(done.journal.outcomes).toEqual({ settled: 8 });
    // The void took its sale back: the merchant is credited with the other six.
    expect(done.centre).toMatchObject({ entries: 8, settled: 8, exceptions: 0, merchantMinor: { EUR: amounts.reduce((a, b) => a + b, 0) - 990 } });

    const ledger = SqliteLedger.open(ledgerFile);
    const invariants = await ledger.checkInvariants();
    await ledger.close();
    expect(invariants).toMatchObject({ unbalancedTransfers: 0, balanceMismatches: 0, transfers: 8 });
    expect(runCli(['reconcile', 'status', '--config', configFile]).stdout).toContain('matched to the minor unit');
    // A second run has nothing to send and changes nothing.
    expect(JSON.parse(runCli(['reconcile', 'run', '--config', configFile, '--json']).stdout)).toEqual({ ...done, journal: { ...done.journal, oldestUnforwardedAgeSeconds: null } });
  });

  it('lists each offline approval the centre refused after the fact, with its reason', async () => {
    const { configFile, ledgerFile } = await nodeWithBacklog();
    const ledger = SqliteLedger.open(ledgerFile);
    // The drafts' card: reported stolen at the centre before the node's backlog arrives.
    await ledger.setCardStanding(authorizationDraft().cardToken, 'hot_listed');
    await ledger.close();
    const report = JSON.parse(runCli(['reconcile', 'run', '--config', configFile, '--json']).stdout) as ReconciliationReport;
    expect(report.matched).toBe(true);
    expect(report.exceptions).toHaveLength(7);
    expect(report.exceptions[0]).toMatchObject({ seq: 1, amountMinor: 1250, reason: 'hot_listed' });
    expect(runCli(['reconcile', 'status', '--config', configFile]).stdout).toContain('exception: entry 1');
  });

  it('a configuration without a centre section is a usage error naming the key', async () => {
    const dir = tempDir();
    await nodeConfigIn(dir);
    writeFileSync(join(dir, 'node.json'), JSON.stringify({ nodeId: 'n1', dataDir: 'data', keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true } }));
    const result = runCli(['reconcile', 'status', '--config', join(dir, 'node.json')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('centre: the configuration has no centre section');
  });
});
