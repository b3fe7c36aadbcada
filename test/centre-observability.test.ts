import { request } from 'node:http';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenizePan } from '../src/card/capture.js';
import { loadCardKeys } from '../src/card/keys.js';
import { withLuhnDigit } from '../src/card/luhn.js';
import { parseCentreConfig } from '../src/central/centre-config.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { LEDGER_PROBE_TIMEOUT_MS, LedgerProbe } from '../src/observability/centre-server.js';
import { peersOf } from '../src/replication/provision.js';
import { runCli } from './support/cli.js';
import { centreStoreOnMosquitto } from './support/centre-store.js';
import { startCentreProcess } from './support/centre-process.js';
import { newNodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

/*
 * The centre's own metrics and health port, on a real `edgepay centre run` process with Mosquitto
 * and an SQLite ledger, fed by a real node over MQTT.
 */

const tempDir = useTempDir('edgepay-centre-observability-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const card = (n: number) => ({ pan: withLuhnDigit(`4000${String(n).padStart(11, '0')}`), expiryYymm: '2912' });
/** fetch() drops a Host header it is given; node:http sends it as written. */
function statusWithHost(url: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}
const series = (metrics: string, line: RegExp): number => Number(line.exec(metrics)?.[1] ?? Number.NaN);

describe("the centre's /metrics and /health", () => {
  it('counts batches, entries, exceptions and online decisions; /health is 503 while the broker is away and 200 again after', async () => {
    const dir = tempDir();
    const { broker, centreConfig, keys } = await centreStoreOnMosquitto(dir, cleanups, { observability: { host: '127.0.0.1', port: 0 } });
    const config = await newNodeConfigIn(tempDir(), {
      nodeId: 'box-1',
      replication: { fleet: 'fleet-1', store: 'store-3', brokerUrl: broker.url, username: 'box-1', passwordFile: join(dir, 'box-1.pw'), signingKeyFile: keys[0]!.signingKeyFile, peers: peersOf('box-1', keys) },
      centre: { store: 'store-3', intervalMs: 60_000, answerTimeoutMs: 3_000, online: { enabled: true, timeoutMs: 400 }, signingPublicKeyFile: join(dir, 'centre-keys', 'centre-signing.pub') },
      observability: { host: '127.0.0.1', port: 0 },
    });
    const stolen = card(9);
    expect(runCli(['centre', 'card-standing', '--config', centreConfig, '--token', tokenizePan(stolen.pan, loadCardKeys(config.keys).tokenKey), '--standing', 'hot_listed']).status).toBe(0);

    const centre = startCentreProcess(centreConfig, cleanups);
    await expect.poll(() => centre.output(), { timeout: 10_000 }).toContain('centre metrics and health listening');
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*centre metrics and health listening/.exec(centre.output())?.[1];
    expect(url).toBeDefined();
    await expect.poll(() => centre.output(), { timeout: 10_000 }).toContain('centre taking batches');
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ healthy: true, broker: true, ledger: true });

    const node = await NodeRuntime.start({ config, registry: new Registry() });
    cleanups.push(() => node.stop());
    expect((await node.pay({ idempotencyKey: 'on-1', amountMinor: 2_500, currency: 'EUR', card: card(1) })).decision).toMatchObject({ code: '00', mode: 'online' });
    expect((await node.pay({ idempotencyKey: 'on-2', amountMinor: 2_500, currency: 'EUR', card: stolen })).decision).toMatchObject({ code: '43', mode: 'online' });
    // The centre stops answering: the node approves the stolen card offline; forwarded later, it becomes an exception.
    centre.child.kill('SIGSTOP');
    expect((await node.pay({ idempotencyKey: 'off-1', amountMinor: 1_500, currency: 'EUR', card: stolen })).decision).toMatchObject({ code: 'Y3', mode: 'offline' });
    centre.child.kill('SIGCONT');
    // The node's own view of the centre and the broker, from the same scrape.
    const nodeMetrics = await (await fetch(`${node.observabilityAddress}/metrics`)).text();
    expect(nodeMetrics).toMatch(/^edgepay_broker_up 1$/m);
    expect(nodeMetrics).toMatch(/^edgepay_decision_latency_seconds_count\{mode="online"\} 2$/m);
    expect(nodeMetrics).toMatch(/^edgepay_decision_latency_seconds_count\{mode="offline"\} 1$/m);
    const report = await node.askOnce('uplink', { type: 'drain' }, 15_000);
    expect(report.headSeq).toBe(3);
    await expect.poll(async () => (await (await fetch(`${node.observabilityAddress}/metrics`)).text()).match(/^edgepay_centre_up (\d)$/m)?.[1], { timeout: 5_000 }).toBe('1');
    await node.stop();

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(series(metrics, /^edgepay_centre_batches_received_total (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^edgepay_centre_exceptions_total\{reason="hot_listed"\} 1$/m);
    const posted = ['settled', 'exception', 'recorded'].map((result) => series(metrics, new RegExp(`^edgepay_centre_entries_posted_total\\{result="${result}"\\} (\\d+)$`, 'm')));
    expect(posted[1]).toBe(1);
    expect(posted.reduce((a, b) => a + b, 0)).toBe(3);
    expect(metrics).toMatch(/^edgepay_centre_online_decisions_total\{code="00",approved="true"\} 1$/m);
    expect(series(metrics, /^edgepay_centre_online_decisions_total\{code="43",approved="false"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^edgepay_centre_messages_malformed_total 0$/m);
    expect(metrics).toMatch(/^edgepay_broker_up 1$/m);
    expect(metrics).toMatch(/^edgepay_centre_ledger_up 1$/m);
    expect(metrics).toMatch(/^edgepay_build_info\{version="[^"]+",node="v\d+\.\d+\.\d+"\} 1$/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes \d/m);
    // Only requests addressed to it: DNS rebinding from a browser on the same host gets nothing.
    expect(await statusWithHost(`${url}/metrics`, 'attacker.example')).toBe(403);

    // The broker goes away: unhealthy (503) and broker_up 0; it comes back: healthy again.
    await broker.kill();
    await expect.poll(async () => (await fetch(`${url}/health`)).status, { timeout: 15_000 }).toBe(503);
    expect(await (await fetch(`${url}/health`)).json()).toEqual({ healthy: false, broker: false, ledger: true });
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^edgepay_broker_up 0$/m);
    await broker.start();
    await expect.poll(async () => (await fetch(`${url}/health`)).status, { timeout: 20_000 }).toBe(200);

    centre.child.kill('SIGTERM');
    expect(await centre.exited).toBe(0);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  }, 90_000);

  it('the ledger probe calls a ledger down when its query fails or hangs, and shares one query between concurrent asks', async () => {
    let calls = 0;
    const failing = new LedgerProbe({ headOf: () => Promise.reject(new Error('connection refused')) });
    expect(await failing.up()).toBe(false);
    const hanging = new LedgerProbe({ headOf: () => new Promise<number>(() => undefined) });
    const started = Date.now();
    expect(await hanging.up()).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(LEDGER_PROBE_TIMEOUT_MS - 50);
    const answering = new LedgerProbe({
      headOf: async () => {
        calls++;
        return 0;
      },
    });
    expect(await Promise.all([answering.up(), answering.up()])).toEqual([true, true]);
    expect(calls).toBe(1);
  });

  it("the observability key of the centre configuration is checked like the node's", () => {
    const base = { fleet: 'fleet-1', brokerUrl: 'mqtt://127.0.0.1:1883', signingKeyFile: 'k', ledger: { sqliteFile: 'l.db' } };
    expect(parseCentreConfig({ ...base, observability: { host: '127.0.0.1', port: 9464 } }, '/tmp').observability).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(() => parseCentreConfig({ ...base, observability: { host: 'example.com', port: 9464 } }, '/tmp')).toThrow(/observability\.host/);
    expect(() => parseCentreConfig({ ...base, observability: { host: '127.0.0.1', port: 9464, path: '/x' } }, '/tmp')).toThrow(/path/);
  });
});
