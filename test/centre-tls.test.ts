import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { journalPathOf } from '../src/config/node-config.js';
import { peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import { startMosquittoServer } from '../src/rigs/broker/mosquitto-server.js';
import { runCli } from './support/cli.js';
import { startCentreProcess } from './support/centre-process.js';
import { newNodeConfigIn } from './support/node.js';
import { startLoadChild } from './support/load-child.js';
import { clientCertIn, tlsOptions, tryConnect } from './support/tls-clients.js';
import { useTempDir } from './support/tmp.js';

/*
 * The centre process on mqtts:// to a broker whose certificate comes from a private CA, presenting
 * its own client certificate; a node reaching it over the same TLS listener with its certificate.
 * The broker makes a certificate's name the client id there, so the node's replication and its
 * centre traffic share one connection (src/replication/broker/centre-relay.ts): two would take turns
 * taking the session from each other.
 */

const tempDir = useTempDir('edgepay-centre-tls-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the centre over mutual TLS', () => {
  it('trusts the private CA and settles what a running node decides online and forwards, the node holding one connection throughout; check-config names a missing CA file', async () => {
    const dir = tempDir();
    const brokerLogFile = join(dir, 'broker.log');
    const broker = await startMosquittoServer({
      dir,
      users: { 'box-1': 'pw-box-1', 'box-2': 'pw-box-2', 'edgepay-centre': 'pw-centre' },
      acl: { fleet: 'fleet-1', store: 'store-3' },
      tls: true,
      // The shipped logging (connection_messages) to a file as well, to count box-1's connections.
      extraConf: `log_dest file ${brokerLogFile}`,
    });
    cleanups.push(() => broker.stop());
    const tls = broker.tls!;
    const centreCert = await clientCertIn(join(dir, 'centre-certs'), tls.material.ca, 'edgepay-centre');
    const nodeCert = await clientCertIn(join(dir, 'node-certs'), tls.material.ca, 'box-1');
    const peerCert = await clientCertIn(join(dir, 'peer-certs'), tls.material.ca, 'box-2');
    expect(runCli(['centre', 'keys', 'create', '--out', join(dir, 'centre-keys')]).status).toBe(0);
    const centreConfig = (caFile: string) => ({
      fleet: 'fleet-1',
      brokerUrl: tls.url,
      caFile,
      certFile: centreCert.certFile,
      keyFile: centreCert.keyFile,
      signingKeyFile: 'centre-keys/centre-signing.key',
      ledger: { sqliteFile: 'ledger.db' },
      log: { level: 'info' },
    });
    const missing = join(dir, 'missing.json');
    writeFileSync(missing, JSON.stringify(centreConfig('no-such-ca.crt')));
    const refused = runCli(['centre', 'check-config', missing]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`caFile: ${join(dir, 'no-such-ca.crt')} does not exist`);

    const configFile = join(dir, 'centre.json');
    writeFileSync(configFile, JSON.stringify(centreConfig(tls.material.caFile)));
    const checked = runCli(['centre', 'check-config', configFile]);
    expect(checked.stderr).toBe('');
    expect(checked.stdout).toContain('(TLS, broker verified against caFile) as CN=edgepay-centre');

    const keys = provisionNodeKeys(join(dir, 'keys'), ['box-1', 'box-2']);
    expect(runCli(['centre', 'nodes', 'add', '--config', configFile, '--node', 'box-1', '--store', 'store-3', '--public-key', keys[0]!.publicKeyFile]).status).toBe(0);
    const centre = startCentreProcess(configFile, cleanups);
    await expect.poll(() => centre.output(), { timeout: 10_000 }).toContain('centre taking batches');

    const replication = {
      fleet: 'fleet-1',
      store: 'store-3',
      brokerUrl: tls.url,
      caFile: tls.material.caFile,
      certFile: nodeCert.certFile,
      keyFile: nodeCert.keyFile,
      signingKeyFile: keys[0]!.signingKeyFile,
      peers: peersOf('box-1', keys),
    };
    const config = await newNodeConfigIn(tempDir(), { nodeId: 'box-1', replication });
    const nodeConfigFile = join(dir, 'box-1.json');
    writeFileSync(
      nodeConfigFile,
      JSON.stringify({
        ...config,
        log: { level: 'info' },
        centre: { store: 'store-3', answerTimeoutMs: 3_000, intervalMs: 200, online: { enabled: true, timeoutMs: 2_000 }, signingPublicKeyFile: join(dir, 'centre-keys', 'centre-signing.pub') },
      }),
    );
    expect(runCli(['node', 'check-config', nodeConfigFile]).stdout).toContain('ok: node box-1');

    // A peer's certificate watches box-1's status: a session taken over would publish its last will (offline).
    const statuses: { online: boolean }[] = [];
    const observer = await tryConnect(tls.url, tlsOptions(tls.material.ca.certPem, peerCert));
    if (!observer.connected) throw new Error(`observer: ${observer.error}`);
    cleanups.push(() => observer.client.endAsync(true));
    observer.client.on('message', (_topic, payload) => statuses.push(JSON.parse(payload.toString()) as { online: boolean }));
    await observer.client.subscribeAsync('edgepay/v1/fleet-1/store-3/box-1/status', { qos: 1 });

    // The running node forwards by itself and asks the centre online, over its replicator's one connection.
    const node = startLoadChild(nodeConfigFile, 2);
    cleanups.push(() => void node.child.kill('SIGKILL'));
    const journal = new JournalReader(journalPathOf(config), 'box-1');
    cleanups.push(() => journal.close());
    const forwarded = (): number => {
      const totals = journal.totals();
      return totals.entries - totals.unforwarded;
    };
    await expect.poll(() => node.acks.size, { timeout: 20_000 }).toBeGreaterThanOrEqual(30);
    await expect.poll(forwarded, { timeout: 20_000 }).toBeGreaterThanOrEqual(30);
    // The CLI beside a running node takes no session from it: `status` connects to nothing, and
    // `run` meets the journal's lock before it would connect with the node's certificate.
    const status = runCli(['reconcile', 'status', '--config', nodeConfigFile, '--json']);
    expect(status.stderr).toBe('');
    expect(JSON.parse(status.stdout)).toMatchObject({ node: 'box-1' });
    const run = runCli(['reconcile', 'run', '--config', nodeConfigFile, '--json']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('EDGEPAY_JOURNAL_IN_USE');
    // Long enough for a takeover loop to show: mqtt.js reconnects within a second.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(statuses.filter((s) => !s.online)).toEqual([]);
    expect(statuses.some((s) => s.online)).toBe(true);
    const stopped = await node.stop();
    expect(stopped.code, node.stderr()).toBe(0);
    expect(stopped.done?.[0]).toBe(stopped.done?.[1]);

    // One connection of box-1 for the node's whole life, never one taking another's place.
    const brokerLog = readFileSync(brokerLogFile, 'utf8');
    expect(brokerLog.match(/New client connected from \S+ as box-1 /g) ?? [], brokerLog).toHaveLength(1);
    expect(brokerLog).not.toMatch(/box-1 already connected/);
    expect(node.stderr()).not.toContain('the broker refused subscriptions');

    // Every decision the centre took online (none fell back to the offline rules), journaled as such.
    const entries = journal.read(1, 100_000);
    expect(entries.length).toBeGreaterThanOrEqual(30);
    expect(entries.filter((e) => e.decision.mode !== 'online')).toEqual([]);
    const held = forwarded();
    expect(held).toBeGreaterThanOrEqual(30);
    expect(journal.totals().outcomes).toEqual({ settled: held });

    centre.child.kill('SIGTERM');
    expect(await centre.exited).toBe(0);
    const ledger = SqliteLedger.open(join(dir, 'ledger.db'));
    const [origin] = await ledger.originReports();
    await ledger.close();
    expect(origin).toMatchObject({ origin: 'box-1', store: 'store-3', entries: held, settled: held });
  }, 60_000);
  it("rules publish and centre push-rules reach the TLS listener with the rules publisher's certificate; without one, or with half of one, nothing is published", async () => {
    const dir = tempDir();
    const broker = await startMosquittoServer({ dir, users: { 'box-1': 'pw-box-1', 'edgepay-centre': 'pw-centre', 'edgepay-rules': 'pw-rules' }, acl: { fleet: 'fleet-1', store: 'store-3' }, tls: true });
    cleanups.push(() => broker.stop());
    const tls = broker.tls!;
    const centreCert = await clientCertIn(join(dir, 'centre-certs'), tls.material.ca, 'edgepay-centre');
    const rulesCert = await clientCertIn(join(dir, 'rules-certs'), tls.material.ca, 'edgepay-rules');
    expect(runCli(['centre', 'keys', 'create', '--out', join(dir, 'centre-keys')]).status).toBe(0);
    const configFile = join(dir, 'centre.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        fleet: 'fleet-1',
        brokerUrl: tls.url,
        caFile: tls.material.caFile,
        certFile: centreCert.certFile,
        keyFile: centreCert.keyFile,
        signingKeyFile: 'centre-keys/centre-signing.key',
        ledger: { sqliteFile: 'ledger.db' },
      }),
    );
    expect(runCli(['rules', 'keygen', '--out', join(dir, 'rules-keys')]).status).toBe(0);
    const rulesKey = join(dir, 'rules-keys', 'rules.key');
    const defaults = JSON.parse(runCli(['rules', 'defaults']).stdout) as { version: number };
    const rulesFile = (version: number): string => {
      const file = join(dir, `rules-${version}.json`);
      writeFileSync(file, JSON.stringify({ ...defaults, version }));
      return file;
    };
    const target = ['--broker', tls.url, '--fleet', 'fleet-1', '--store', 'store-3'];

    const published = runCli(['rules', 'publish', rulesFile(defaults.version + 1), '--key', rulesKey, ...target, '--ca', tls.material.caFile, '--cert', rulesCert.certFile, '--cert-key', rulesCert.keyFile]);
    expect(published.stderr).toBe('');
    expect(published.stdout).toContain(`published rules version ${defaults.version + 1}`);

    const halfCert = runCli(['rules', 'publish', rulesFile(defaults.version + 2), '--key', rulesKey, ...target, '--ca', tls.material.caFile, '--cert', rulesCert.certFile]);
    expect(halfCert.status).toBe(2);
    expect(halfCert.stderr).toContain('--cert-key: is needed with certFile');

    // The CA from the centre's configuration; the certificate is the rules publisher's, not the centre's.
    const pushed = runCli(['centre', 'push-rules', rulesFile(defaults.version + 2), '--config', configFile, '--key', rulesKey, '--store', 'store-3', '--cert', rulesCert.certFile, '--cert-key', rulesCert.keyFile]);
    expect(pushed.stderr).toBe('');
    expect(pushed.stdout).toContain(`published rules version ${defaults.version + 2}`);
    expect(pushed.stdout).toContain(`replacing version ${defaults.version + 1}`);

    const noCert = runCli(['centre', 'push-rules', rulesFile(defaults.version + 3), '--config', configFile, '--key', rulesKey, '--store', 'store-3', '--timeout-ms', '3000']);
    expect(noCert.status).toBe(3);
    expect(noCert.stderr).toContain('EDGEPAY_RULES_UNREACHABLE');
  }, 60_000);
});
