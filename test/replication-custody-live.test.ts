import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Centre } from '../src/central/centre.js';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { Journal } from '../src/journal/index.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { CustodyForwarder } from '../src/reconcile/custody-forwarder.js';
import { Uplink } from '../src/reconcile/uplink.js';
import { replicasPathOf } from '../src/replication/config.js';
import { peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import { Replicator } from '../src/replication/replicator.js';
import { startAedes } from './support/brokers.js';
import { authorizationDraft } from './support/drafts.js';
import { eventually } from './support/pty.js';
import { useTempDir } from './support/tmp.js';
import { registerNodes } from '../src/central/register-nodes.js';
import { signedReadsOf } from './support/signed-forwarding.js';

const tempDir = useTempDir();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const NODES = ['lane-1', 'lane-2', 'lane-3'];

async function liveStore(dir: string) {
  const users = Object.fromEntries(NODES.map((n) => [n, `pw-${n}`]));
  const broker = await startAedes(users, { fleet: 'f', store: 's' });
  cleanups.push(() => broker.stop());
  const keys = provisionNodeKeys(join(dir, 'keys'), NODES);
  const replicators = new Map<string, Replicator>();
  const journals = new Map<string, Journal>();
  for (const nodeId of NODES) {
    const nodeDir = join(dir, nodeId);
    const journal = Journal.open({ path: join(nodeDir, 'journal.db'), nodeId });
    cleanups.push(() => journal.close());
    journals.set(nodeId, journal);
    writeFileSync(join(dir, `${nodeId}.pw`), users[nodeId]!);
    const replicator = Replicator.start({
      settings: {
        nodeId,
        dataDir: nodeDir,
        journalPath: join(nodeDir, 'journal.db'),
        fleet: 'f',
        store: 's',
        brokerUrl: broker.url,
        username: nodeId,
        passwordFile: join(dir, `${nodeId}.pw`),
        signingKeyFile: keys.find((k) => k.nodeId === nodeId)!.signingKeyFile,
        peers: peersOf(nodeId, keys),
        inflightWindow: 16,
      },
      // Live nodes repeat their status often, so only a stopped one goes silent.
      tuning: { reconnectPeriodMs: 100, statusMinIntervalMs: 50, statusHeartbeatMs: 100, repairTickMs: 50, custodyAfterMs: 800 },
    });
    cleanups.push(() => replicator.stop());
    replicators.set(nodeId, replicator);
  }
  await eventually(() => (replicators.get('lane-1')!.status().connected && replicators.get('lane-2')!.status().connected ? true : undefined), 5_000, 'connections');
  return { replicators, journals, dir, keys };
}

async function custodianOfLane3(replicators: Map<string, Replicator>): Promise<string> {
  await replicators.get('lane-3')!.stop();
  const holders = await eventually(
    () => {
      const custody = ['lane-1', 'lane-2'].map((n) => [n, replicators.get(n)!.status().custody] as const);
      return custody.some(([, c]) => c.includes('lane-3')) ? custody : undefined;
    },
    5_000,
    'a custodian for lane-3',
  );
  expect(holders.filter(([, c]) => c.length > 0)).toHaveLength(1);
  return holders.find(([, c]) => c.includes('lane-3'))![0];
}

describe('custody handover on a live broker', () => {
  it('exactly one live peer takes custody of a node that went silent, and none of a live one', async () => {
    const { replicators } = await liveStore(tempDir());
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(NODES.flatMap((n) => replicators.get(n)!.status().custody)).toEqual([]);
    const custodian = await custodianOfLane3(replicators);
    expect(NODES.flatMap((n) => (n === 'lane-3' ? [] : replicators.get(n)!.status().custody))).toEqual(['lane-3']);
    expect(['lane-1', 'lane-2']).toContain(custodian);
  });

  it("the custodian forwards the dead node's replicated journal to the centre; the node, back, forwards the same and nothing posts twice", async () => {
    const { replicators, journals, dir, keys: provisioned } = await liveStore(tempDir());
    const lane3 = journals.get('lane-3')!;
    const amounts = [1200, 450, 9900, 75, 3300];
    const sales = amounts.map((amountMinor) => lane3.append(authorizationDraft({ amountMinor })));
    lane3.append(authorizationDraft({ kind: 'void', refSeq: sales[2]!.seq, amountMinor: 9900, sealedCard: null }));
    await eventually(
      () =>
        ['lane-1', 'lane-2'].every(
          (n) =>
            replicators
              .get(n)!
              .status()
              .origins.find((o) => o.origin === 'lane-3')?.headSeq === 6,
        )
          ? true
          : undefined,
      5_000,
      'lane-3 replicated to both peers',
    );
    const custodian = await custodianOfLane3(replicators);

    const ledger = SqliteLedger.open(join(dir, 'centre.db'));
    cleanups.push(() => ledger.close());
    await registerNodes(ledger, 's', provisioned);
    const centre = new Centre({ backend: ledger, forwardDeadlineHours: 72 });
    const link = { send: centre.ingest.bind(centre) };
    const forwarder = new CustodyForwarder({
      self: custodian,
      store: 's',
      replicasPath: replicasPathOf({ dataDir: join(dir, custodian) }),
      marksPath: join(dir, custodian, 'custody.db'),
      centre: link,
      batchSize: 4,
    });
    cleanups.push(() => forwarder.close());
    const byCustodian = await forwarder.forward('lane-3');
    expect(byCustodian).toMatchObject({ entriesSent: 6, settled: 6, headSeq: 6 });
    // A second round has nothing left: the custodian remembers what the centre holds.
    expect((await forwarder.forward('lane-3')).entriesSent).toBe(0);

    // The box comes back and forwards its own journal: every entry is one the centre holds already.
    const reader = new JournalReader(lane3.path, 'lane-3');
    cleanups.push(() => reader.close());
    const own = await new Uplink({
      origin: 'lane-3',
      store: 's',
      journal: {
        headSeq: () => lane3.chainHead().seq,
        read: signedReadsOf(reader, provisioned.find((k) => k.nodeId === 'lane-3')!.signingKeyFile),
        firstUnforwardedSeq: () => reader.firstUnforwardedSeq(),
        record: async (o) => lane3.recordForwarded(o),
      },
      centre: link,
      batchSize: 10,
    }).drain();
    expect(own).toMatchObject({ entriesSent: 6, settled: 6 });

    const [report] = await ledger.originReports();
    const invariants = await ledger.checkInvariants();
    const total = amounts.reduce((a, b) => a + b, 0);
    expect(report).toMatchObject({ origin: 'lane-3', entries: 6, sumsMinor: { EUR: total + 9900 }, merchantMinor: { EUR: total - 9900 } });
    expect(invariants).toMatchObject({ unbalancedTransfers: 0, balanceMismatches: 0, transfers: 6 });
    // The ledger records who brought each entry: all six came from the custodian first.
    expect(await ledger.sendersOf('lane-3')).toEqual({ [custodian]: 6 });
  });
});
