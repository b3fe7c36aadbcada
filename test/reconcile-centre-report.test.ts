import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { withLuhnDigit } from '../src/card/luhn.js';
import { Journal } from '../src/journal/journal.js';
import { journalPathOf, loadNodeConfig } from '../src/config/node-config.js';
import { initNode } from '../src/app/init.js';
import { NodeRuntime } from '../src/app/runtime.js';
import type { ReconciliationReport } from '../src/reconcile/report.js';
import { peersOf } from '../src/replication/provision.js';
import { startCentreProcess } from './support/centre-process.js';
import { runCliAsync } from './support/cli.js';
import { centreStoreOnMosquitto } from './support/centre-store.js';
import { authorizationDraft } from './support/drafts.js';
import { nodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

/*
 * `reconcile status` over MQTT shows the centre's own counts and sums of the node, signed by the
 * centre: asked with a client of its own while the node is stopped, and through the running node
 * (its observability port, its one broker session) while it runs. A centre that cannot be asked
 * is said plainly, never "matched". Real Mosquitto, `edgepay centre run` as its own process.
 */

const tempDir = useTempDir('edgepay-reconcile-report-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const card = (n: number) => ({ pan: withLuhnDigit(`4000${String(n).padStart(11, '0')}`), expiryYymm: '2912' });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Mosquitto, the centre as its own process with box-1 registered, and box-1's configuration file (not yet initialised). */
async function store(extra: Record<string, unknown>): Promise<{ dir: string; configFile: string; centre: ReturnType<typeof startCentreProcess> }> {
  const dir = tempDir();
  const { broker, centreConfig, keys } = await centreStoreOnMosquitto(dir, cleanups);
  await nodeConfigIn(dir);
  const configFile = join(dir, 'node.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      nodeId: 'box-1',
      dataDir: 'data',
      keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true },
      log: { level: 'silent' },
      replication: { fleet: 'fleet-1', store: 'store-3', brokerUrl: broker.url, username: 'box-1', passwordFile: 'box-1.pw', signingKeyFile: keys[0]!.signingKeyFile, peers: peersOf('box-1', keys) },
      centre: { store: 'store-3', intervalMs: 60_000, answerTimeoutMs: 2_000, signingPublicKeyFile: 'centre-keys/centre-signing.pub' },
      ...extra,
    }),
  );
  initNode(loadNodeConfig(configFile));
  const centre = startCentreProcess(centreConfig, cleanups);
  await expect.poll(() => centre.output(), { timeout: 10_000 }).toContain('centre taking batches');
  return { dir, configFile, centre };
}

describe("reconcile status shows the centre's own counts and sums over MQTT", () => {
  it('node stopped: asks the centre with a client of its own; matched only once the ledger holds the journal; amounts with their exponent', async () => {
    const { configFile } = await store({});
    const config = loadNodeConfig(configFile);
    const journal = Journal.open({ path: journalPathOf(config), nodeId: 'box-1' });
    journal.append(authorizationDraft({ amountMinor: 1250, idempotencyKey: 'a' }));
    journal.append(authorizationDraft({ amountMinor: 1500, currency: 'JPY', idempotencyKey: 'b' }));
    journal.close();

    const before = await runCliAsync(['reconcile', 'status', '--config', configFile, '--json']);
    expect(before.status).toBe(1);
    const pending = JSON.parse(before.stdout) as ReconciliationReport;
    // The centre answered (holds nothing of box-1 yet): reached, and the difference is real.
    expect(pending).toMatchObject({ centreReached: true, centreUnavailable: null, centre: null, matched: false });
    expect(pending.differences).toContain('entries: journal 2, centre 0');

    expect((await runCliAsync(['reconcile', 'run', '--config', configFile, '--json'])).status).toBe(0);
    const after = await runCliAsync(['reconcile', 'status', '--config', configFile, '--json']);
    expect(after.stderr).toBe('');
    expect(after.status).toBe(0);
    const done = JSON.parse(after.stdout) as ReconciliationReport;
    // Raw minor units in JSON; both sides' counts and sums, the centre's as it signed them.
    expect(done).toMatchObject({ matched: true, centreReached: true, journal: { entries: 2, sumsMinor: { EUR: 1250, JPY: 1500 } }, centre: { entries: 2, sumsMinor: { EUR: 1250, JPY: 1500 }, settled: 2 } });
    expect(done.centreVia).toMatch(/^over MQTT/);
    const text = (await runCliAsync(['reconcile', 'status', '--config', configFile])).stdout;
    expect(text).toContain('EUR 12.50');
    expect(text).toContain('JPY 1,500');
    expect(text).toContain('matched to the minor unit');
  }, 60_000);

  it("node running: asks through the node's own session (which it keeps); with the centre silent it says so and is not matched", async () => {
    const port = await freePort();
    const { configFile, centre } = await store({ observability: { host: '127.0.0.1', port } });
    const node = await NodeRuntime.start({ config: loadNodeConfig(configFile), registry: new Registry() });
    cleanups.push(() => node.stop());
    for (let n = 0; n < 3; n++) await node.pay({ idempotencyKey: `p${n}`, amountMinor: 1_000 + n, currency: 'EUR', card: card(n + 1) });

    const pending = JSON.parse((await runCliAsync(['reconcile', 'status', '--config', configFile, '--json'])).stdout) as ReconciliationReport;
    expect(pending).toMatchObject({ centreReached: true, centre: null, matched: false, journal: { entries: 3, unforwarded: 3 } });
    expect(pending.centreVia).toBe(`through the running node (pid ${process.pid})`);

    expect((await node.askOnce('uplink', { type: 'drain' }, 15_000)).headSeq).toBe(3);
    const status = await runCliAsync(['reconcile', 'status', '--config', configFile, '--json']);
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ matched: true, centre: { entries: 3, sumsMinor: { EUR: 3_003 } } });
    // The node's session was never taken: it still forwards over it.
    await node.pay({ idempotencyKey: 'p3', amountMinor: 500, currency: 'EUR', card: card(4) });
    expect((await node.askOnce('uplink', { type: 'drain' }, 15_000)).headSeq).toBe(4);

    centre.child.kill('SIGSTOP');
    cleanups.push(() => centre.child.kill('SIGCONT'));
    const silent = await runCliAsync(['reconcile', 'status', '--config', configFile]);
    expect(silent.status).toBe(1);
    expect(silent.stdout).toContain('centre:  NOT REACHED');
    expect(silent.stdout).toContain("DIFFERS: the centre's side is unknown");
    expect(silent.stdout).not.toContain('matched to the minor unit');
  }, 60_000);

  it('node running without an observability port: refuses to take its session and says why, plainly', async () => {
    const { configFile } = await store({});
    const node = await NodeRuntime.start({ config: loadNodeConfig(configFile), registry: new Registry() });
    cleanups.push(() => node.stop());
    const result = await runCliAsync(['reconcile', 'status', '--config', configFile, '--json']);
    expect(result.status).toBe(1);
    const report = JSON.parse(result.stdout) as ReconciliationReport;
    expect(report).toMatchObject({ centreReached: false, centre: null, matched: false });
    expect(report.centreUnavailable).toContain('may not connect with its identity');
  }, 60_000);
});
