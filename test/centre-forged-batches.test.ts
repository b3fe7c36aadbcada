import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type ForwardBatch, totalsOf } from '../src/central/batch.js';
import { Centre } from '../src/central/centre.js';
import { CentreService } from '../src/central/centre-service.js';
import { uplinkTopic, answerTopic } from '../src/central/centre-topics.js';
import { encodeRequest } from '../src/central/centre-wire.js';
import type { LedgerBackend } from '../src/central/ledger-backend.js';
import { PostgresLedger } from '../src/central/postgres-ledger.js';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { entryHash } from '../src/journal/canonical.js';
import type { JournalEntry } from '../src/journal/entry.js';
import { Journal } from '../src/journal/journal.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { MqttCentreLink } from '../src/reconcile/mqtt-centre-link.js';
import { Uplink } from '../src/reconcile/uplink.js';
import { signEntry } from '../src/wire/envelope.js';
import { generateNodeKeyPair } from '../src/wire/keys.js';
import { startBroker } from './support/brokers.js';
import { authorizationDraft } from './support/drafts.js';
import { usePostgresServer } from './support/postgres.js';
import { nodeKeys, registerKeys, signedReadsOf } from './support/signed-forwarding.js';
import { useTempDir } from './support/tmp.js';

/*
 * The attacks of a node that holds its own broker password and signing key (or a peer's replicated,
 * genuinely signed entries), against the centre process's path on a real Mosquitto with the shipped
 * ACL, on both ledgers. Each forged batch must be refused with its code, counted, and leave the
 * ledger as if it never came; the honest node's next batch must still settle.
 */

const postgres = usePostgresServer();
const tempDir = useTempDir('edgepay-forged-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const NODES = ['box-1', 'box-2', 'box-3', 'box-9'];
const USERS = { ...Object.fromEntries(NODES.map((n) => [n, `pw-${n}`])), 'edgepay-centre': 'pw-centre' };
const silent = pino({ level: 'silent' });
let schemas = 0;

type Answer = { ok: boolean; error?: { code: string }; outcomes?: { result: string }[] };

/** An MQTT client with a node's credentials sending whatever it likes on the topics the ACL lets it write. */
async function attacker(url: string, node: string) {
  const client = await connectAsync(url, { username: node, password: `pw-${node}`, clientId: `${node}-attacker`, protocolVersion: 4 });
  cleanups.push(() => client.endAsync());
  const answers = new Map<string, (answer: Answer) => void>();
  client.on('message', (_topic, payload) => {
    const message = JSON.parse(payload.toString('utf8')) as { correlationId: string; answer?: Answer };
    if (message.answer !== undefined) answers.get(message.correlationId)?.(message.answer);
  });
  await client.subscribeAsync(answerTopic('f', 's', node), { qos: 1 });
  await client.subscribeAsync(answerTopic('f', 's2', node), { qos: 1 });
  let counter = 0;
  return {
    send(batch: ForwardBatch, topicStore = batch.store): Promise<Answer> {
      const correlationId = `forged-${counter++}`;
      return new Promise<Answer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer to ${batch.batchId}`)), 10_000);
        answers.set(correlationId, (answer) => {
          clearTimeout(timer);
          resolve(answer);
        });
        void client.publishAsync(uplinkTopic('f', topicStore, node), encodeRequest(correlationId, batch), { qos: 1 });
      });
    },
  };
}

/** The next entry of a chain, made by whoever holds its head: valid hash and link, no key needed. */
function forgedNext(last: JournalEntry | undefined, origin: string, overrides: Partial<JournalEntry>): JournalEntry {
  const draft = authorizationDraft({ idempotencyKey: `forged-${origin}-${(last?.seq ?? 0) + 1}`, amountMinor: 5_000_000 });
  const entry = { ...draft, seq: (last?.seq ?? 0) + 1, nodeId: origin, wallMs: Date.now(), monoUs: 1, prevHash: last?.hash ?? '0'.repeat(64), ...overrides };
  return { ...entry, hash: entryHash(entry) };
}

function batchOf(entries: JournalEntry[], fields: { store: string; origin: string; sender: string; signature: Buffer }): ForwardBatch {
  return { batchId: `b-${fields.origin}-${entries[0]!.seq}`, entries, totals: totalsOf(entries), ...fields };
}

describe.each([
  ['sqlite', (dir: string): Promise<LedgerBackend> => Promise.resolve(SqliteLedger.open(join(dir, 'centre.db')))],
  ['postgres', (): Promise<LedgerBackend> => PostgresLedger.open({ url: postgres().url, schema: `forged_${schemas++}` })],
] as const)('forged batches at the centre on Mosquitto (%s ledger)', (_kind, openLedger) => {
  it('invented node, real peer, other store, foreign custodian, revoked node: each refused with its code, counted, nothing posted; the honest node still settles', async () => {
    const dir = tempDir();
    const broker = await startBroker('mosquitto', dir, USERS, { fleet: 'f', store: 's' });
    cleanups.push(() => broker.stop());
    const keys = nodeKeys(NODES);
    const ledger = await openLedger(dir);
    cleanups.push(() => ledger.close());
    await registerKeys(ledger, 's', new Map([...keys].filter(([id]) => id !== 'box-9')));
    await registerKeys(ledger, 's2', new Map([['box-9', keys.get('box-9')!]]));
    await ledger.revokeNode('box-3', Date.now());
    const centreKey = generateKeyPairSync('ed25519');
    const centre = new Centre({ backend: ledger, forwardDeadlineHours: 72 });
    const service = await CentreService.start({ centre, fleet: 'f', brokerUrl: broker.url, username: 'edgepay-centre', password: 'pw-centre', clientId: 'centre', logger: silent, signingKey: centreKey.privateKey });
    cleanups.push(() => service.stop());

    // box-2, honest: a real journal forwarded through the node's own link.
    const journal = Journal.open({ path: join(dir, 'box-2.db'), nodeId: 'box-2' });
    cleanups.push(() => journal.close());
    const reader = new JournalReader(journal.path, 'box-2');
    cleanups.push(() => reader.close());
    for (let i = 0; i < 3; i++) journal.append(authorizationDraft({ idempotencyKey: `honest-${i}`, amountMinor: 1_000 + i }));
    const link = await MqttCentreLink.open({ brokerUrl: broker.url, username: 'box-2', password: 'pw-box-2', fleet: 'f', store: 's', node: 'box-2', answerTimeoutMs: 5_000, centreKey: centreKey.publicKey });
    cleanups.push(() => link.close());
    const uplink = new Uplink({
      origin: 'box-2',
      store: 's',
      journal: { headSeq: () => journal.chainHead().seq, read: signedReadsOf(reader, keys.get('box-2')!), firstUnforwardedSeq: () => reader.firstUnforwardedSeq(), record: async (o) => journal.recordForwarded(o) },
      centre: link,
      batchSize: 10,
    });
    expect(await uplink.drain()).toMatchObject({ entriesSent: 3, settled: 3 });
    const before = { reports: await ledger.originReports(), balances: (await ledger.checkInvariants()).balances };

    const mallory = await attacker(broker.url, 'box-1');
    const boxTwoHead = reader.read(3, 1)[0]!;
    const ghostKey = generateNodeKeyPair();
    const ghostEntry = forgedNext(undefined, 'ghost', {});
    const attacks: [string, Promise<Answer>, string][] = [
      // An invented node's EUR 50,000.00 approval, properly signed by its own (unregistered) key, brought "in custody".
      ['invented node', mallory.send(batchOf([ghostEntry], { store: 's', origin: 'ghost', sender: 'box-1', signature: signEntry(ghostEntry, ghostKey.privateKey) })), 'EDGEPAY_CENTRE_NODE_UNKNOWN'],
      // A refund appended to a real peer's chain: valid hash and link, signed with the attacker's own key.
      (() => {
        const refund = forgedNext(boxTwoHead, 'box-2', { kind: 'refund', refSeq: 1, amountMinor: 1_000, sealedCard: null });
        return ['real peer', mallory.send(batchOf([refund], { store: 's', origin: 'box-2', sender: 'box-1', signature: signEntry(refund, keys.get('box-1')!.privateKey) })), 'EDGEPAY_CENTRE_SIGNATURE'] as [
          string,
          Promise<Answer>,
          string,
        ];
      })(),
      // Its own genuine entry, claimed for another store to credit that store's merchant. The broker
      // lets it publish only in its own store (brokers/acl.template), so the claim is in the batch
      // alone, and the centre refuses a batch that disagrees with its topic before looking further.
      (() => {
        const own = forgedNext(undefined, 'box-1', {});
        return ['other store', mallory.send(batchOf([own], { store: 's2', origin: 'box-1', sender: 'box-1', signature: signEntry(own, keys.get('box-1')!.privateKey) }), 's'), 'EDGEPAY_CENTRE_BATCH_SHAPE'] as [
          string,
          Promise<Answer>,
          string,
        ];
      })(),
    ];
    // A node of another store forwarding this store's entries with their genuine signatures (heard on
    // the journal topic), on the topic of this store the broker lets it write.
    const outsider = await attacker(broker.url, 'box-9');
    const genuine = reader.read(1, 3);
    attacks.push([
      'foreign custodian',
      outsider.send(batchOf(genuine, { store: 's', origin: 'box-2', sender: 'box-9', signature: signedReadsOf(reader, keys.get('box-2')!)(1, 3)!.signature })),
      'EDGEPAY_CENTRE_CUSTODY_REFUSED',
    ]);
    // A revoked box with its own key.
    const revokedBox = await attacker(broker.url, 'box-3');
    const stolen = forgedNext(undefined, 'box-3', {});
    attacks.push(['revoked node', revokedBox.send(batchOf([stolen], { store: 's', origin: 'box-3', sender: 'box-3', signature: signEntry(stolen, keys.get('box-3')!.privateKey) })), 'EDGEPAY_CENTRE_NODE_REVOKED']);

    for (const [name, answer, code] of attacks) expect({ name, answer: await answer }).toMatchObject({ name, answer: { ok: false, error: { code } } });
    expect(service.stats.refused).toBe(attacks.length);
    expect([...centre.refusals.entries()].sort()).toEqual([
      ['EDGEPAY_CENTRE_CUSTODY_REFUSED', 1],
      ['EDGEPAY_CENTRE_NODE_REVOKED', 1],
      ['EDGEPAY_CENTRE_NODE_UNKNOWN', 1],
      ['EDGEPAY_CENTRE_SIGNATURE', 1],
    ]);
    expect(await ledger.originReports()).toEqual(before.reports);
    expect((await ledger.checkInvariants()).balances).toEqual(before.balances);

    // The honest node's next batch links to the head the forgery tried to extend, and settles.
    journal.append(authorizationDraft({ idempotencyKey: 'honest-3', amountMinor: 2_000 }));
    expect(await uplink.drain()).toMatchObject({ entriesSent: 1, settled: 1 });
    expect((await ledger.originReports()).find((r) => r.origin === 'box-2')).toMatchObject({ entries: 4, settled: 4, merchantMinor: { EUR: 1_000 + 1_001 + 1_002 + 2_000 } });
    // What `reconcile status` is answered with: one origin's report, the same as in the whole list;
    // nothing for the forgers, whose batches left no row.
    expect(await ledger.originReport('box-2')).toEqual((await ledger.originReports()).find((r) => r.origin === 'box-2'));
    for (const forger of ['ghost', 'box-1', 'box-3', 'box-9']) expect(await ledger.originReport(forger)).toBeUndefined();
  }, 60_000);
});
