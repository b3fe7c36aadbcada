import { readFileSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, connect as tcpConnect, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync as mqttConnect } from 'mqtt';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { withLuhnDigit } from '../src/card/luhn.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { journalPathOf } from '../src/config/node-config.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import { type MosquittoServer, startMosquittoServer } from '../src/rigs/broker/mosquitto-server.js';
import { runCli } from './support/cli.js';
import { startCentreProcess } from './support/centre-process.js';
import { newNodeConfigIn } from './support/node.js';
import { clientCertIn } from './support/tls-clients.js';
import { useTempDir } from './support/tmp.js';

/*
 * Two real Mosquittos from the shipped configuration: the store's, bridged over mutual TLS (the
 * shipped brokers/bridge.conf.example, only names and files replaced) to a "central" one, each
 * with its own CA. A node on the store broker, the centre process on the central broker.
 */

const tempDir = useTempDir('edgepay-bridge-tls-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const BRIDGE_EXAMPLE = fileURLToPath(new URL('../brokers/bridge.conf.example', import.meta.url));
const BRIDGE_ID = 'bridge-fleet-1-store-3';
const card = (n: number) => ({ pan: withLuhnDigit(`4000${String(n).padStart(11, '0')}`), expiryYymm: '2912' });

/** A setting of the shipped bridge configuration, as written there. */
function bridgeSetting(key: string): string | undefined {
  return new RegExp(`^${key}\\s+(.+)$`, 'm').exec(readFileSync(BRIDGE_EXAMPLE, 'utf8'))?.[1];
}

function bridgeConf(values: { address: string; cafile: string; certfile: string; keyfile: string }): string {
  const replaced: Record<string, string> = { address: values.address, bridge_cafile: values.cafile, bridge_certfile: values.certfile, bridge_keyfile: values.keyfile, remote_clientid: BRIDGE_ID, restart_timeout: '1 5' };
  return readFileSync(BRIDGE_EXAMPLE, 'utf8')
    .split('\n')
    .map((line) => {
      const key = /^(\w+)\s/.exec(line)?.[1];
      const value = key === undefined ? undefined : replaced[key];
      return (value === undefined ? line : `${key} ${value}`).replaceAll('acme/store-0042', 'fleet-1/store-3');
    })
    .join('\n');
}

/**
 * The central broker (its own CA; the bridge known there by its certificate alone) and the store's,
 * bridged to it by the shipped bridge.conf.example. `via` puts something between them: the bridge
 * dials that port instead of the central broker's TLS listener.
 */
async function bridgedBrokers(
  dir: string,
  options: { storeUsers: Readonly<Record<string, string>>; storeAclLines?: readonly string[]; storeConf?: string; via?: (centralTlsPort: number) => Promise<number> },
): Promise<{ central: MosquittoServer; store: MosquittoServer }> {
  const central = await startMosquittoServer({
    dir: join(dir, 'central'),
    users: { 'edgepay-centre': 'pw-centre', 'box-1': 'unused-here' },
    acl: {
      fleet: 'fleet-1',
      store: 'store-3',
      extraLines: [
        `user ${BRIDGE_ID}`,
        'topic write edgepay/v1/fleet-1/store-3/+/uplink',
        'topic write edgepay/v1/fleet-1/store-3/+/authorize',
        'topic read edgepay/v1/fleet-1/store-3/+/centre',
        'topic read edgepay/v1/fleet-1/store-3/rules',
      ],
    },
    tls: true,
  });
  cleanups.push(() => central.stop());
  const centralTls = central.tls!;
  const bridgeCert = await clientCertIn(join(dir, 'bridge-certs'), centralTls.material.ca, BRIDGE_ID);
  const port = options.via === undefined ? centralTls.port : await options.via(centralTls.port);
  const store = await startMosquittoServer({
    dir: join(dir, 'store'),
    users: { ...options.storeUsers, 'edgepay-bridge': 'pw-bridge' },
    acl: { fleet: 'fleet-1', store: 'store-3', ...(options.storeAclLines === undefined ? {} : { extraLines: options.storeAclLines }) },
    tls: true,
    extraConf: `${bridgeConf({ address: `127.0.0.1:${port}`, cafile: centralTls.material.caFile, certfile: bridgeCert.certFile, keyfile: bridgeCert.keyFile })}\n${options.storeConf ?? ''}`,
  });
  cleanups.push(() => store.stop());
  return { central, store };
}

/**
 * A TCP relay that can fall silent: after cut(), nothing more crosses it either way and every
 * connection through it stays open, as when a router or modem on the way dies (no FIN, no RST;
 * the bytes go nowhere). restore() lets new connections through again.
 */
interface SilentRelay {
  readonly port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

async function silentRelay(targetPort: number): Promise<SilentRelay> {
  let silent = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    // Connections made while cut get nowhere either: dialled, never answered.
    const deaf = silent;
    const outbound = deaf ? undefined : tcpConnect(targetPort, '127.0.0.1');
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      if (from === undefined) continue;
      sockets.add(from);
      from.on('error', () => from.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to?.destroy();
      });
      // Read and dropped while cut: the peer sees its bytes leave and nothing come back.
      from.on('data', (chunk: Buffer) => {
        if (!silent && to !== undefined && !to.destroyed) to.write(chunk);
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the relay has no TCP port');
  return {
    port: address.port,
    cut: () => {
      silent = true;
    },
    restore: () => {
      silent = false;
      // The connections cut stay dead (their bytes were lost); the bridge dials a new one.
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('the store bridged to the centre over mutual TLS', () => {
  it("a node's batch crosses the bridge to the centre, and the centre's answer comes back", async () => {
    const dir = tempDir();
    const storeLogFile = join(dir, 'store-broker.log');
    // The shipped logging (connection_messages) to a file as well, to count box-1's connections.
    const { central, store } = await bridgedBrokers(dir, { storeUsers: { 'box-1': 'pw-box-1' }, storeConf: `log_dest file ${storeLogFile}` });
    const centralTls = central.tls!;
    const centreCert = await clientCertIn(join(dir, 'centre-certs'), centralTls.material.ca, 'edgepay-centre');
    const storeTls = store.tls!;

    expect(runCli(['centre', 'keys', 'create', '--out', join(dir, 'centre-keys')]).status).toBe(0);
    const centreConfig = join(dir, 'centre.json');
    writeFileSync(
      centreConfig,
      JSON.stringify({
        fleet: 'fleet-1',
        brokerUrl: centralTls.url,
        caFile: centralTls.material.caFile,
        certFile: centreCert.certFile,
        keyFile: centreCert.keyFile,
        signingKeyFile: 'centre-keys/centre-signing.key',
        ledger: { sqliteFile: 'ledger.db' },
        log: { level: 'info' },
      }),
    );
    const keys = provisionNodeKeys(join(dir, 'keys'), ['box-1']);
    expect(runCli(['centre', 'nodes', 'add', '--config', centreConfig, '--node', 'box-1', '--store', 'store-3', '--public-key', keys[0]!.publicKeyFile]).status).toBe(0);
    const centre = startCentreProcess(centreConfig, cleanups);
    await expect.poll(() => centre.output(), { timeout: 10_000 }).toContain('centre taking batches');

    const nodeCert = await clientCertIn(join(dir, 'node-certs'), storeTls.material.ca, 'box-1');
    const replication = {
      fleet: 'fleet-1',
      store: 'store-3',
      brokerUrl: storeTls.url,
      caFile: storeTls.material.caFile,
      certFile: nodeCert.certFile,
      keyFile: nodeCert.keyFile,
      signingKeyFile: keys[0]!.signingKeyFile,
      peers: peersOf('box-1', keys),
    };
    // The running node forwards by itself, over its replicator's connection: one certificate, one connection.
    const centreSection = { store: 'store-3', answerTimeoutMs: 5_000, intervalMs: 200, signingPublicKeyFile: join(dir, 'centre-keys', 'centre-signing.pub') };
    const config = await newNodeConfigIn(tempDir(), { nodeId: 'box-1', replication, centre: centreSection });
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    cleanups.push(() => node.stop());
    for (let n = 0; n < 2; n++) await node.pay({ idempotencyKey: `b${n}`, amountMinor: 700 + n, currency: 'EUR', card: card(n + 1) });
    const journal = new JournalReader(journalPathOf(config), 'box-1');
    cleanups.push(() => journal.close());
    // The bridge may still be connecting: a round that times out is followed by the next one.
    await expect.poll(() => journal.totals().outcomes, { timeout: 30_000 }).toEqual({ settled: 2 });
    await node.stop();
    const storeLog = readFileSync(storeLogFile, 'utf8');
    expect(storeLog.match(/New client connected from \S+ as box-1 /g) ?? [], storeLog).toHaveLength(1);

    centre.child.kill('SIGTERM');
    expect(await centre.exited).toBe(0);
    const ledger = SqliteLedger.open(join(dir, 'ledger.db'));
    const [origin] = await ledger.originReports();
    await ledger.close();
    expect(origin).toMatchObject({ origin: 'box-1', store: 'store-3', entries: 2, settled: 2 });
  }, 90_000);

  it('a silent cut of the link (nothing closed, nothing answered) is noticed by the bridge within 15 s; what was sent meanwhile crosses once the link is back', async () => {
    const dir = tempDir();
    let relay: SilentRelay | undefined;
    const storeLogFile = join(dir, 'store-broker.log');
    const { central, store } = await bridgedBrokers(dir, {
      storeUsers: { 'box-1': 'pw-box-1' },
      storeConf: `log_dest file ${storeLogFile}`,
      via: async (port) => {
        relay = await silentRelay(port);
        cleanups.push(() => relay!.close());
        return relay.port;
      },
    });
    // The bridge dials the centre's broker: one line each time, at the shipped log level (notice).
    const dials = (): number => (readFileSync(storeLogFile, 'utf8').match(/Connecting bridge \(step 1\) edgepay-centre/g) ?? []).length;
    const centre = await mqttConnect(central.url, { username: 'edgepay-centre', password: 'pw-centre', protocolVersion: 4, reconnectPeriod: 0 });
    cleanups.push(() => centre.endAsync(true));
    const crossed: string[] = [];
    centre.on('message', (_topic, payload) => crossed.push(payload.toString()));
    await centre.subscribeAsync('edgepay/v1/fleet-1/store-3/+/authorize', { qos: 1 });
    const box = await mqttConnect(store.url, { username: 'box-1', password: 'pw-box-1', protocolVersion: 4, reconnectPeriod: 0 });
    cleanups.push(() => box.endAsync(true));
    const topic = 'edgepay/v1/fleet-1/store-3/box-1/authorize';
    // Up: a request crosses (the bridge may still be connecting at first).
    await expect
      .poll(
        async () => {
          await box.publishAsync(topic, 'before the cut', { qos: 1 });
          return crossed.includes('before the cut');
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(true);

    const dialled = dials();
    const cutAtMs = performance.now();
    relay!.cut();
    // Taken by the store broker and queued for the bridge (persistent session), as a node's request is.
    await box.publishAsync(topic, 'during the cut', { qos: 1 });
    await expect.poll(dials, { timeout: 30_000, interval: 100 }).toBeGreaterThan(dialled);
    const noticedAfterMs = performance.now() - cutAtMs;
    console.info(`bridge: silent cut noticed (the bridge dials again) ${Math.round(noticedAfterMs)} ms after it, with keepalive_interval ${bridgeSetting('keepalive_interval')}`);
    // keepalive_interval 5: a PINGREQ after at most 5 s of silence, given up 5 s later; then it dials (restart_timeout 1 here).
    expect(noticedAfterMs).toBeLessThan(15_000);
    expect(crossed).not.toContain('during the cut');

    relay!.restore();
    await expect.poll(() => crossed.includes('during the cut'), { timeout: 30_000, interval: 100 }).toBe(true);
  }, 90_000);
});
