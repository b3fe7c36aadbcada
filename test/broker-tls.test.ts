import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createCa } from '../src/certs/x509.js';
import { tokenizePan } from '../src/card/capture.js';
import { loadCardKeys } from '../src/card/keys.js';
import { withLuhnDigit } from '../src/card/luhn.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import { type MosquittoServer, SHIPPED_MOSQUITTO_CONF, startMosquittoServer } from '../src/rigs/broker/mosquitto-server.js';
import { newNodeConfigIn } from './support/node.js';
import { eventually } from './support/pty.js';
import { startTcpRecorder } from './support/tcp-recorder.js';
import { type Attempt, clientCertIn, tlsOptions, tryConnect } from './support/tls-clients.js';
import { useTempDir } from './support/tmp.js';

/*
 * The store broker's LAN listener as shipped (brokers/mosquitto.conf): TLS only, a client
 * certificate from the store CA required, the certificate's common name the MQTT identity and the
 * client id. Real Mosquitto, real TLS, a real node's replicator.
 */

const tempDir = useTempDir('edgepay-broker-tls-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SCOPE = { fleet: 'fleet-1', store: 'store-3' };

async function tlsBroker(dir: string, users: Record<string, string>): Promise<MosquittoServer & { tls: NonNullable<MosquittoServer['tls']> }> {
  const broker = await startMosquittoServer({ dir, users, acl: SCOPE, tls: true });
  cleanups.push(() => broker.stop());
  if (broker.tls === undefined) throw new Error('the broker has no TLS listener');
  return broker as MosquittoServer & { tls: NonNullable<MosquittoServer['tls']> };
}

function keep(attempt: Attempt): Attempt {
  if (attempt.connected) cleanups.push(() => attempt.client.endAsync(true));
  return attempt;
}

describe('the shipped listeners', () => {
  it('plain MQTT only on loopback; the LAN listener is TLS 1.2+ with a client certificate whose name is the identity and the client id', () => {
    const settings = readFileSync(SHIPPED_MOSQUITTO_CONF, 'utf8')
      .split('\n')
      .filter((line) => /^\w/.test(line))
      .map((line) => line.trim());
    const listeners = settings.filter((line) => line.startsWith('listener '));
    expect(listeners).toEqual(['listener 1883 127.0.0.1', 'listener 8883 0.0.0.0']);
    const tlsSection = settings.slice(settings.indexOf('listener 8883 0.0.0.0'));
    for (const line of ['require_certificate true', 'use_identity_as_username true', 'use_username_as_clientid true', 'tls_version tlsv1.2']) expect(tlsSection).toContain(line);
    // Global, so both listeners: no listener lets a client in without credentials or outside the ACL.
    expect(settings).toContain('per_listener_settings false');
    expect(settings).toContain('allow_anonymous false');
  });
});

describe('the TLS listener refuses', () => {
  it('a client without a certificate, with one from another CA, or with an expired one; and the client refuses a broker it cannot verify', async () => {
    const dir = tempDir();
    const broker = await tlsBroker(dir, { 'box-1': 'pw-box-1' });
    const ca = broker.tls.material.ca;
    const good = await clientCertIn(join(dir, 'good'), ca, 'box-1');
    const stranger = await createCa({ name: 'someone-elses-ca', validDays: 1 });
    const foreign = await clientCertIn(join(dir, 'foreign'), stranger, 'box-1');
    const expired = await clientCertIn(join(dir, 'expired'), ca, 'box-1', { validDays: 1, notBefore: new Date(Date.now() - 3 * 86_400_000) });

    const accepted = keep(await tryConnect(broker.tls.url, { clientId: 'box-1', ...tlsOptions(ca.certPem, good) }));
    expect(accepted.connected).toBe(true);

    const refusals = await Promise.all([
      // The password is right, but on this listener only a certificate counts.
      tryConnect(broker.tls.url, { clientId: 'box-1', username: 'box-1', password: 'pw-box-1', ...tlsOptions(ca.certPem) }),
      tryConnect(broker.tls.url, { clientId: 'box-1', ...tlsOptions(ca.certPem, foreign) }),
      tryConnect(broker.tls.url, { clientId: 'box-1', ...tlsOptions(ca.certPem, expired) }),
      // The client's side: a broker whose certificate is not from the configured CA is not the broker.
      tryConnect(broker.tls.url, { clientId: 'box-1', ...tlsOptions(stranger.certPem, good) }),
      // Plain MQTT to the TLS port is not MQTT to it.
      tryConnect(`mqtt://127.0.0.1:${broker.tls.port}`, { clientId: 'box-1', username: 'box-1', password: 'pw-box-1' }, 2_000),
    ]);
    for (const refusal of refusals) keep(refusal);
    expect(refusals.map((r) => r.connected)).toEqual([false, false, false, false, false]);
    expect((refusals[3] as { error: string }).error).toMatch(/certificate/i);
  }, 30_000);
});

describe("one certificate cannot take over another node's session", () => {
  async function watchWill(url: string, options: Parameters<typeof tryConnect>[1], topic: string): Promise<{ wills: string[]; client: MqttClient }> {
    const watcher = keep(await tryConnect(url, options));
    if (!watcher.connected) throw new Error(`watcher: ${watcher.error}`);
    const wills: string[] = [];
    watcher.client.on('message', (_t, payload: Buffer) => wills.push(payload.toString()));
    await watcher.client.subscribeAsync(topic, { qos: 1 });
    return { wills, client: watcher.client };
  }

  it("with node A's certificate and client id B, the impostor gets A's id: B stays connected and its will is not published", async () => {
    const dir = tempDir();
    const broker = await tlsBroker(dir, { 'box-a': 'pw-a', 'box-b': 'pw-b', 'box-c': 'pw-c' });
    const ca = broker.tls.material.ca;
    const [certA, certB, certC] = await Promise.all(['box-a', 'box-b', 'box-c'].map((n) => clientCertIn(join(dir, 'certs'), ca, n)));
    const willTopic = 'edgepay/v1/fleet-1/store-3/box-b/status';
    const watcher = await watchWill(broker.tls.url, { clientId: 'box-c', ...tlsOptions(ca.certPem, certC) }, willTopic);
    const b = keep(await tryConnect(broker.tls.url, { clientId: 'box-b', clean: false, will: { topic: willTopic, payload: Buffer.from('box-b offline'), qos: 1, retain: false }, ...tlsOptions(ca.certPem, certB) }));
    if (!b.connected) throw new Error(`box-b: ${b.error}`);
    let bClosed = false;
    b.client.on('close', () => (bClosed = true));

    const impostor = keep(await tryConnect(broker.tls.url, { clientId: 'box-b', clean: true, ...tlsOptions(ca.certPem, certA) }));
    expect(impostor.connected).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(bClosed).toBe(false);
    expect(b.client.connected).toBe(true);
    expect(watcher.wills).toEqual([]);
    // It is box-a now: what it writes under box-b's topics the ACL drops (identity is the certificate's).
    if (!impostor.connected) throw new Error('unreachable');
    await impostor.client.publishAsync(willTopic, 'box-b offline (forged)', { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(watcher.wills).toEqual([]);
  }, 30_000);

  it('control: on a listener without that binding (loopback, passwords) the same takeover disconnects B and publishes its will', async () => {
    const dir = tempDir();
    const broker = await tlsBroker(dir, { 'box-a': 'pw-a', 'box-b': 'pw-b', 'box-c': 'pw-c' });
    const willTopic = 'edgepay/v1/fleet-1/store-3/box-b/status';
    const watcher = await watchWill(broker.url, { clientId: 'box-c', username: 'box-c', password: 'pw-c' }, willTopic);
    const b = keep(await tryConnect(broker.url, { clientId: 'box-b', username: 'box-b', password: 'pw-b', clean: false, will: { topic: willTopic, payload: Buffer.from('box-b offline'), qos: 1, retain: false } }));
    if (!b.connected) throw new Error(`box-b: ${b.error}`);
    let bClosed = false;
    b.client.on('close', () => (bClosed = true));
    keep(await tryConnect(broker.url, { clientId: 'box-b', username: 'box-a', password: 'pw-a', clean: true }));
    await eventually(() => (bClosed && watcher.wills.length > 0 ? true : undefined), 5_000, 'box-b to be taken over');
    expect(watcher.wills).toEqual(['box-b offline']);
  }, 30_000);
});

describe('a tap between a node and the broker', () => {
  const card = { pan: withLuhnDigit('400000123456789'), expiryYymm: '2912' };

  async function captureOnePayment(tls: boolean) {
    const dir = tempDir();
    const password = 'pw-box-1-3f9a2c7e51';
    const broker = await tlsBroker(dir, { 'box-1': password, 'box-2': 'pw-box-2' });
    const recorder = await startTcpRecorder(tls ? broker.tls.port : broker.port);
    cleanups.push(() => recorder.close());
    writeFileSync(join(dir, 'box-1.pw'), `${password}\n`);
    const keys = provisionNodeKeys(join(dir, 'keys'), ['box-1', 'box-2']);
    const cert = await clientCertIn(join(dir, 'certs'), broker.tls.material.ca, 'box-1');
    const config = await newNodeConfigIn(tempDir(), {
      nodeId: 'box-1',
      replication: {
        fleet: 'fleet-1',
        store: 'store-3',
        brokerUrl: `${tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${recorder.port}`,
        username: 'box-1',
        // Sent on both listeners (the TLS one ignores it): if TLS leaked, it would show.
        passwordFile: join(dir, 'box-1.pw'),
        ...(tls ? { caFile: broker.tls.material.caFile, certFile: cert.certFile, keyFile: cert.keyFile } : {}),
        signingKeyFile: keys[0]!.signingKeyFile,
        peers: peersOf('box-1', keys),
      },
    });
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    cleanups.push(() => node.stop());
    const outcome = await node.pay({ idempotencyKey: 'sniffed-payment-0001', amountMinor: 4_321, currency: 'EUR', card });
    expect(outcome.decision.approved).toBe(true);
    // The entry has reached the broker once a peer can read it there.
    const peer = keep(await tryConnect(broker.url, { clientId: 'box-2', username: 'box-2', password: 'pw-box-2' }));
    if (!peer.connected) throw new Error(`peer: ${peer.error}`);
    const seen: Buffer[] = [];
    peer.client.on('message', (_t, payload: Buffer) => seen.push(payload));
    await peer.client.subscribeAsync('edgepay/v1/fleet-1/store-3/box-1/journal', { qos: 1 });
    await node.pay({ idempotencyKey: 'sniffed-payment-0002', amountMinor: 1_234, currency: 'EUR', card });
    await eventually(() => (seen.length > 0 ? true : undefined), 10_000, 'an entry to reach the broker');
    await node.stop();
    const token = tokenizePan(card.pan, loadCardKeys(config.keys).tokenKey);
    return { capture: recorder.capture(), password, token, entry: seen[0]! };
  }

  const secretsIn = (capture: Buffer, s: { password: string; token: string; entry: Buffer }) => ({
    password: capture.includes(s.password),
    token: capture.includes(s.token),
    last4AsJson: capture.includes(`"${card.pan.slice(-4)}"`),
    idempotencyKey: capture.includes('sniffed-payment-0001'),
    entryJson: capture.includes('"amountMinor"'),
    entryBytes: capture.includes(s.entry.subarray(0, 64)),
  });

  it('on the TLS listener sees neither the password nor any card fact nor any entry', async () => {
    const sniffed = await captureOnePayment(true);
    expect(sniffed.capture.length).toBeGreaterThan(1_000);
    expect(secretsIn(sniffed.capture, sniffed)).toEqual({ password: false, token: false, last4AsJson: false, idempotencyKey: false, entryJson: false, entryBytes: false });
  }, 60_000);

  it('control: on the plain listener the same tap sees them', async () => {
    const sniffed = await captureOnePayment(false);
    expect(secretsIn(sniffed.capture, sniffed)).toEqual({ password: true, token: true, last4AsJson: true, idempotencyKey: true, entryJson: true, entryBytes: true });
  }, 60_000);
});
