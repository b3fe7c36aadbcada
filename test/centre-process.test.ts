import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { tokenizePan } from '../src/card/capture.js';
import { loadCardKeys } from '../src/card/keys.js';
import { withLuhnDigit } from '../src/card/luhn.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { journalPathOf } from '../src/config/node-config.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { peersOf } from '../src/replication/provision.js';
import { runCli } from './support/cli.js';
import { centreStoreOnMosquitto } from './support/centre-store.js';
import { startCentreProcess } from './support/centre-process.js';
import { newNodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

/*
 * Production shape: Mosquitto, `edgepay centre run` as its own process on an SQLite ledger, and a
 * node that reaches it only over MQTT (no ledger in its configuration).
 */

const tempDir = useTempDir('edgepay-centre-process-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const card = (n: number) => ({ pan: withLuhnDigit(`4000${String(n).padStart(11, '0')}`), expiryYymm: '2912' });

describe('the centre as its own process, reached over MQTT', () => {
  it("a node forwards over Mosquitto; a hot-listed card's offline approval comes back an exception; SIGTERM stops the centre cleanly", async () => {
    const dir = tempDir();
    // The centre's answer key made as an operator makes it (the node pins its public half), and
    // box-1 registered: the centre posts only batches signed by a registered node.
    const { broker, centreConfig, keys } = await centreStoreOnMosquitto(dir, cleanups, { shareGroup: 'centre' }, { 'edgepay-rules': 'pw-rules' });
    const config = await newNodeConfigIn(tempDir(), {
      nodeId: 'box-1',
      replication: { fleet: 'fleet-1', store: 'store-3', brokerUrl: broker.url, username: 'box-1', passwordFile: join(dir, 'box-1.pw'), signingKeyFile: keys[0]!.signingKeyFile, peers: peersOf('box-1', keys) },
      centre: { store: 'store-3', intervalMs: 60_000, answerTimeoutMs: 3_000, signingPublicKeyFile: join(dir, 'centre-keys', 'centre-signing.pub') },
    });
    // The centre learns the card is stolen before the node's offline approval reaches it.
    const hotToken = tokenizePan(card(6).pan, loadCardKeys(config.keys).tokenKey);
    expect(runCli(['centre', 'card-standing', '--config', centreConfig, '--token', hotToken, '--standing', 'hot_listed']).status).toBe(0);
    const centre = startCentreProcess(centreConfig, cleanups);
    await expect.poll(() => centre.output(), { timeout: 10_000 }).toContain('centre taking batches');

    const node = await NodeRuntime.start({ config, registry: new Registry() });
    cleanups.push(() => node.stop());
    for (let n = 0; n < 6; n++) await node.pay({ idempotencyKey: `p${n}`, amountMinor: 1_000 + n, currency: 'EUR', card: card(n + 1) });
    const report = await node.askOnce('uplink', { type: 'drain' }, 15_000);
    expect(report.headSeq).toBe(6);
    await node.stop();

    const reader = new JournalReader(journalPathOf(config), 'box-1');
    const totals = reader.totals();
    reader.close();
    expect(totals).toMatchObject({ entries: 6, unforwarded: 0, outcomes: { settled: 5, exception: 1 } });
    const exceptions = runCli(['centre', 'exceptions', '--config', centreConfig, '--json']);
    expect(
      exceptions.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { reason: string; idempotencyKey: string }),
    ).toEqual([expect.objectContaining({ reason: 'hot_listed', idempotencyKey: 'p5' })]);

    // The stolen card goes out to the store in the signed hot-card list, beside the file's own.
    writeFileSync(join(dir, 'rules-user.pw'), 'pw-rules\n');
    expect(runCli(['rules', 'keygen', '--out', join(dir, 'rules-keys')]).status).toBe(0);
    const rulesFile = join(dir, 'rules.json');
    const defaults = JSON.parse(runCli(['rules', 'defaults']).stdout) as { version: number; hotCards: { version: number; tokens: string[] } };
    writeFileSync(rulesFile, JSON.stringify({ ...defaults, version: defaults.version + 1, hotCards: { version: 2, tokens: ['tok-listed-by-the-operator'] } }));
    const pushed = runCli(['centre', 'push-rules', rulesFile, '--config', centreConfig, '--key', join(dir, 'rules-keys', 'rules.key'), '--store', 'store-3', '--password-file', join(dir, 'rules-user.pw')]);
    expect(pushed.stderr).toBe('');
    expect(pushed.status).toBe(0);
    expect(pushed.stdout).toContain(`published rules version ${defaults.version + 1} (hot-card list version 2, 2 cards) retained on edgepay/v1/fleet-1/store-3/rules`);

    centre.child.kill('SIGTERM');
    expect(await centre.exited).toBe(0);
    const ledger = SqliteLedger.open(join(dir, 'ledger.db'));
    const [origin] = await ledger.originReports();
    const invariants = await ledger.checkInvariants();
    await ledger.close();
    expect(origin).toMatchObject({ origin: 'box-1', store: 'store-3', entries: 6, settled: 5, exceptions: 1, sumsMinor: totals.sumsMinor });
    expect(invariants).toMatchObject({ unbalancedTransfers: 0, balanceMismatches: 0, transfers: 6 });
  }, 60_000);

  it("online authorization: the centre decides while it answers; stopped (SIGSTOP), the node decides offline and the centre's late approval is reversed", async () => {
    const dir = tempDir();
    // The centre posts only batches signed by a registered node: box-1 is.
    const { broker, centreConfig, keys } = await centreStoreOnMosquitto(dir, cleanups);
    const config = await newNodeConfigIn(tempDir(), {
      nodeId: 'box-1',
      replication: { fleet: 'fleet-1', store: 'store-3', brokerUrl: broker.url, username: 'box-1', passwordFile: join(dir, 'box-1.pw'), signingKeyFile: keys[0]!.signingKeyFile, peers: peersOf('box-1', keys) },
      centre: { store: 'store-3', intervalMs: 60_000, answerTimeoutMs: 3_000, online: { enabled: true, timeoutMs: 400 }, signingPublicKeyFile: join(dir, 'centre-keys', 'centre-signing.pub') },
    });
    const stolen = card(9);
    const stolenToken = tokenizePan(stolen.pan, loadCardKeys(config.keys).tokenKey);
    expect(runCli(['centre', 'card-standing', '--config', centreConfig, '--token', stolenToken, '--standing', 'hot_listed']).status).toBe(0);
    const centre = startCentreProcess(centreConfig, cleanups);
    await expect.poll(() => centre.output(), { timeout: 10_000 }).toContain('centre taking batches');
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    cleanups.push(() => node.stop());

    const online = await node.pay({ idempotencyKey: 'on-1', amountMinor: 2_500, currency: 'EUR', card: card(1) });
    expect(online.decision).toMatchObject({ approved: true, code: '00', mode: 'online', rule: 'centre' });
    const refused = await node.pay({ idempotencyKey: 'on-2', amountMinor: 2_500, currency: 'EUR', card: stolen });
    expect(refused.decision).toMatchObject({ approved: false, code: '43', mode: 'online' });

    // The centre stops answering: the node decides offline after its timeout and reverses.
    centre.child.kill('SIGSTOP');
    const started = Date.now();
    const offline = await node.pay({ idempotencyKey: 'off-1', amountMinor: 1_500, currency: 'EUR', card: card(2) });
    expect(offline.decision).toMatchObject({ approved: true, code: 'Y3', mode: 'offline' });
    expect(Date.now() - started).toBeLessThan(3_000);
    centre.child.kill('SIGCONT');

    const report = await node.askOnce('uplink', { type: 'drain' }, 15_000);
    expect(report.headSeq).toBe(3);
    await node.stop();
    centre.child.kill('SIGTERM');
    expect(await centre.exited).toBe(0);

    const ledger = SqliteLedger.open(join(dir, 'ledger.db'));
    const statuses = await Promise.all(['on-1', 'on-2', 'off-1'].map((key) => ledger.onlineStatus('box-1', key)));
    const [origin] = await ledger.originReports();
    await ledger.close();
    // The late request was answered after all (or found its reversal first); either way it holds nothing now.
    expect(statuses).toEqual(['approved', 'declined', 'reversed']);
    // Online approval settled, online decline recorded, the offline approval settled as offline.
    expect(origin).toMatchObject({ entries: 3, settled: 2, recorded: 1, exceptions: 0, merchantMinor: { EUR: 4_000 } });
  }, 60_000);
});
