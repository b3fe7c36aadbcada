import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { withLuhnDigit } from '../src/card/luhn.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { journalPathOf } from '../src/node/config.js';
import { NodeRuntime } from '../src/node/runtime.js';
import { peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import { startMosquittoServer } from '../src/testing/mosquitto-server.js';
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

describe('the store bridged to the centre over mutual TLS', () => {
  it('a node\'s batch crosses the bridge to the centre, and the centre\'s answer comes back', async () => {
    const dir = tempDir();
    // The central broker: its own CA; the bridge is known there by its certificate alone.
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
    const centreCert = await clientCertIn(join(dir, 'centre-certs'), centralTls.material.ca, 'edgepay-centre');

    const storeLogFile = join(dir, 'store-broker.log');
    const store = await startMosquittoServer({
      dir: join(dir, 'store'),
      users: { 'box-1': 'pw-box-1', 'edgepay-bridge': 'pw-bridge' },
      acl: { fleet: 'fleet-1', store: 'store-3' },
      tls: true,
      // The shipped logging (connection_messages) to a file as well, to count box-1's connections.
      extraConf: `${bridgeConf({ address: `127.0.0.1:${centralTls.port}`, cafile: centralTls.material.caFile, certfile: bridgeCert.certFile, keyfile: bridgeCert.keyFile })}\nlog_dest file ${storeLogFile}`,
    });
    cleanups.push(() => store.stop());
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
});
