import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Centre } from '../src/central/centre.js';
import { CentreService } from '../src/central/centre-service.js';
import { generateCentreKeyPair } from '../src/central/centre-keys.js';
import type { LedgerBackend } from '../src/central/ledger-backend.js';
import { PostgresLedger } from '../src/central/postgres-ledger.js';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { Journal } from '../src/journal/journal.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { MqttCentreLink } from '../src/reconcile/mqtt-centre-link.js';
import { Uplink } from '../src/reconcile/uplink.js';
import { type BrokerKind, startBroker } from './support/brokers.js';
import { authorizationDraft } from './support/drafts.js';
import { usePostgresServer } from './support/postgres.js';
import { useTempDir } from './support/tmp.js';
import { nodeKeys, registerKeys, signedReadsOf } from './support/signed-forwarding.js';

/*
 * The centre as its own service on the fleet's MQTT: nodes forward over request/response topics,
 * the centre answers each on its own topic. Against the embedded aedes (one centre, SQLite) and a
 * real Mosquitto (two centres sharing the subscription on one PostgreSQL, one killed mid-drain).
 */

const postgres = usePostgresServer();
const tempDir = useTempDir('edgepay-centre-mqtt-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const NODES = ['box-1', 'box-2', 'box-3'];
const USERS = { ...Object.fromEntries(NODES.map((n) => [n, `pw-${n}`])), 'edgepay-centre': 'pw-centre' };
const silent = pino({ level: 'silent' });
/** The centre's answer key: the centres sign with it, the nodes' links pin its public half. */
const CENTRE_KEY = generateCentreKeyPair();
const KEYS = nodeKeys(NODES);
let schemas = 0;

/** The ledger a test's centres share: an SQLite file, or one schema of the PostgreSQL server. */
function ledgerFor(kind: BrokerKind, dir: string): () => Promise<LedgerBackend> {
  if (kind === 'aedes') return async () => SqliteLedger.open(join(dir, 'centre.db'));
  const schema = `mqtt_${schemas++}`;
  return () => PostgresLedger.open({ url: postgres().url, schema });
}

async function nodeJournal(dir: string, node: string, entries: number): Promise<{ journal: Journal; reader: JournalReader; total: number }> {
  const journal = Journal.open({ path: join(dir, node, 'journal.db'), nodeId: node });
  let total = 0;
  for (let i = 0; i < entries; i++) {
    const amountMinor = 100 + ((i * 37) % 5_000);
    journal.append(authorizationDraft({ amountMinor, idempotencyKey: `${node}-${i}` }));
    total += amountMinor;
  }
  const reader = new JournalReader(journal.path, node);
  cleanups.push(() => {
    reader.close();
    journal.close();
  });
  return { journal, reader, total };
}

async function startCentre(url: string, openLedger: () => Promise<LedgerBackend>, shareGroup: string | undefined, id: string): Promise<CentreService> {
  const ledger = await openLedger();
  await registerKeys(ledger, 's', KEYS);
  const service = await CentreService.start({
    centre: new Centre({ backend: ledger, forwardDeadlineHours: 72 }),
    fleet: 'f',
    brokerUrl: url,
    username: 'edgepay-centre',
    password: 'pw-centre',
    ...(shareGroup === undefined ? {} : { shareGroup }),
    clientId: id,
    logger: silent,
    signingKey: CENTRE_KEY.privateKey,
  });
  cleanups.push(async () => {
    await service.stop().catch(() => undefined);
    await ledger.close();
  });
  return service;
}

async function forwardAll(url: string, node: string, journal: Journal, reader: JournalReader): Promise<void> {
  const link = await MqttCentreLink.open({ brokerUrl: url, username: node, password: `pw-${node}`, fleet: 'f', store: 's', node, answerTimeoutMs: 1_500, centreKey: CENTRE_KEY.publicKey });
  cleanups.push(() => link.close());
  const uplink = new Uplink({
    origin: node,
    store: 's',
    journal: { headSeq: () => journal.chainHead().seq, read: signedReadsOf(reader, KEYS.get(node)!), firstUnforwardedSeq: () => reader.firstUnforwardedSeq(), record: async (o) => journal.recordForwarded(o) },
    centre: link,
    batchSize: 25,
  });
  // A round cut short by a lost answer resumes where the journal says, as the uplink actor does.
  for (let round = 0; ; round++) {
    try {
      await uplink.drain();
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EDGEPAY_CENTRE_UNAVAILABLE' || round > 20) throw error;
    }
  }
}

describe.each<BrokerKind>(['aedes', 'mosquitto'])('the centre on MQTT (%s)', (kind) => {
  it('three nodes forward concurrently; the ledger holds every entry once and each node agrees to the minor unit', async () => {
    const dir = tempDir();
    const broker = await startBroker(kind, dir, USERS, { fleet: 'f', store: 's' });
    cleanups.push(() => broker.stop());
    const openLedger = ledgerFor(kind, dir);
    const centres = [await startCentre(broker.url, openLedger, kind === 'mosquitto' ? 'centre' : undefined, 'centre-a')];
    if (kind === 'mosquitto') centres.push(await startCentre(broker.url, openLedger, 'centre', 'centre-b'));
    const nodes = await Promise.all(NODES.map((n) => nodeJournal(dir, n, 120)));

    const drains = NODES.map((n, i) => forwardAll(broker.url, n, nodes[i]!.journal, nodes[i]!.reader));
    if (kind === 'mosquitto') {
      // One centre dies mid-drain: batches it took and never answered are sent again and go to the other.
      await new Promise((resolve) => setTimeout(resolve, 150));
      centres[1]!.kill();
    }
    await Promise.all(drains);

    const check = await openLedger();
    const reports = await check.originReports();
    const invariants = await check.checkInvariants();
    await check.close();
    expect(invariants).toMatchObject({ unbalancedTransfers: 0, balanceMismatches: 0, transfers: 360 });
    for (const [i, node] of NODES.entries()) {
      const totals = nodes[i]!.reader.totals();
      expect(totals.unforwarded).toBe(0);
      expect(reports.find((r) => r.origin === node)).toMatchObject({ entries: 120, settled: 120, sumsMinor: { EUR: nodes[i]!.total }, merchantMinor: { EUR: nodes[i]!.total } });
    }
    if (kind === 'mosquitto') expect(centres[0]!.stats.answered).toBeGreaterThan(0);
  }, 60_000);

  it('a batch claiming another sender than its topic is refused, and nothing of it is posted', async () => {
    const dir = tempDir();
    const broker = await startBroker(kind, dir, USERS, { fleet: 'f', store: 's' });
    cleanups.push(() => broker.stop());
    const openLedger = ledgerFor(kind, dir);
    const centre = await startCentre(broker.url, openLedger, undefined, 'centre-a');
    const { journal, reader } = await nodeJournal(dir, 'box-2', 3);
    // box-1 sends box-2's entries as if box-2 sent them, on its own topic.
    const link = await MqttCentreLink.open({ brokerUrl: broker.url, username: 'box-1', password: 'pw-box-1', fleet: 'f', store: 's', node: 'box-1', answerTimeoutMs: 3_000, centreKey: CENTRE_KEY.publicKey });
    cleanups.push(() => link.close());
    const entries = reader.read(1, 3);
    const answer = await link.send({
      batchId: 'forged',
      store: 's',
      origin: 'box-2',
      sender: 'box-2',
      entries,
      totals: { count: 3, sumsMinor: { EUR: entries.reduce((a, e) => a + e.amountMinor, 0) } },
      signature: signedReadsOf(reader, KEYS.get('box-2')!)(1, 3)!.signature,
    });
    expect(answer).toMatchObject({ ok: false, error: { code: 'EDGEPAY_CENTRE_BATCH_SHAPE' } });
    expect(centre.stats.refused).toBe(1);
    const check = await openLedger();
    expect(await check.originReports()).toEqual([]);
    await check.close();
    expect(journal.chainHead().seq).toBe(3);
  }, 30_000);
});
