import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type MqttClient, connect } from 'mqtt';
import { PostgresLedger } from '../../src/central/postgres-ledger.js';
import { startStoreBox } from '../../src/rigs/store/box.js';
import { prepareCentre, startCentreService } from '../../src/rigs/store/centre.js';
import { CENTRE_USER, newPassword, perCardLimitsOnly, provisionStore } from '../../src/rigs/store/provision.js';
import { Closers } from '../../src/rigs/closers.js';
import type { StoreNode } from '../../src/rigs/store/store-node.js';
import { DEFAULT_BRIDGE_USER, DEFAULT_PEER_BRIDGE_USER } from '../../src/replication/broker/broker-acl.js';
import { type MosquittoServer, startMosquittoServer } from '../../src/rigs/broker/mosquitto-server.js';
import { type PostgresServer, startPostgres } from '../../src/rigs/database/postgres-server.js';

/*
 * A store with two brokers, as brokers/README.md ("Two brokers in a store") lays it out, every part
 * a real process: the primary and the standby Mosquitto from the shipped configuration and ACL, the
 * standby bridged to the primary by the shipped peer-bridge.conf.example and each of them bridged
 * to a central Mosquitto by the shipped bridge.conf.example (each with an identity of its own
 * there), the centre on PostgreSQL behind the central broker, and three node processes with
 * simulated readers on socat ptys, each configured with the primary and the standby. The bridges
 * here use passwords on the brokers' loopback listeners instead of certificates (TLS is left out of
 * the shipped files' lines and nothing else): the TLS forms are run by broker-bridge-tls.test.ts
 * and broker-peer-bridge.test.ts.
 */

export const FLEET = 'ha';
export const STORE = 'store-1';
export const BOXES = ['box-1', 'box-2', 'box-3'] as const;
export const CURRENCY = 'EUR';
export const PER_CARD = { maxCount: 3, maxAmountMinor: 20_000 } as const;
const CARDS = 'good,regular,good,regular,good,hot,regular,good,expired,regular,good,good';
const CENTRE_BRIDGES = { primary: 'bridge-ha-store-1-a', standby: 'bridge-ha-store-1-b' } as const;
const BROKERS_DIR = new URL('../../brokers/', import.meta.url);
const TLS_BRIDGE_KEYS = new Set(['bridge_cafile', 'bridge_certfile', 'bridge_keyfile', 'bridge_insecure', 'bridge_tls_version']);

export interface CentralMessage {
  readonly topic: string;
  readonly payload: string;
  readonly atMs: number;
}

export interface TwoBrokerStore {
  readonly primary: MosquittoServer;
  readonly standby: MosquittoServer;
  readonly central: MosquittoServer;
  readonly boxes: readonly StoreNode[];
  readonly database: PostgresServer;
  readonly ledger: PostgresLedger;
  /** Every node request (batch, online authorization) as the central broker saw it arrive. */
  readonly requestsAtCentre: CentralMessage[];
  replicasPath(box: StoreNode): string;
  close(): Promise<void>;
}

export interface TwoBrokerStoreOptions {
  readonly failbackAfterSeconds: number;
  readonly custodyAfterSeconds: number;
  readonly quorumTimeoutMs: number;
  readonly seed: number;
}

/**
 * A shipped bridge file with only its address, names and store replaced, on a password instead of
 * a certificate: the TLS lines dropped, remote_username/remote_password added.
 */
export function plainBridgeConf(file: string, values: { readonly address: string; readonly remoteUser: string; readonly password: string; readonly replace?: Readonly<Record<string, string>> }): string {
  const replaced: Record<string, string> = { address: values.address, remote_clientid: values.remoteUser, restart_timeout: '1 5', ...values.replace };
  const lines = readFileSync(fileURLToPath(new URL(file, BROKERS_DIR)), 'utf8')
    .split('\n')
    .filter((line) => !TLS_BRIDGE_KEYS.has(/^(\w+)\s/.exec(line)?.[1] ?? ''))
    .map((line) => {
      const key = /^(\w+)\s/.exec(line)?.[1];
      const value = key === undefined ? undefined : replaced[key];
      return (value === undefined ? line : `${key} ${value}`).replaceAll('acme/store-0042', `${FLEET}/${STORE}`);
    });
  return [...lines, `remote_username ${values.remoteUser}`, `remote_password ${values.password}`].join('\n');
}

export async function startTwoBrokerStore(dir: string, options: TwoBrokerStoreOptions): Promise<TwoBrokerStore> {
  const closers = new Closers();
  const close = (): Promise<void> => closers.close();
  try {
    const store = await provisionStore(dir, {
      fleet: FLEET,
      store: STORE,
      boxes: BOXES,
      limits: perCardLimitsOnly(CURRENCY, PER_CARD),
    });
    closers.push(() => store.remove());
    const nodeUsers = Object.fromEntries(BOXES.map((box) => [box, store.passwords[box]!]));

    // The centre's side: its broker (the ACL grants the centre user and each store bridge exactly
    // what a bridge maps) and the centre on PostgreSQL.
    const centralUsers: Record<string, string> = { [CENTRE_USER]: store.passwords[CENTRE_USER]!, [CENTRE_BRIDGES.primary]: newPassword(), [CENTRE_BRIDGES.standby]: newPassword(), ...nodeUsers };
    const central = await startMosquittoServer({
      dir: join(dir, 'central'),
      users: centralUsers,
      acl: {
        fleet: FLEET,
        store: STORE,
        extraLines: Object.values(CENTRE_BRIDGES).flatMap((user) => [
          `user ${user}`,
          `topic write edgepay/v1/${FLEET}/${STORE}/+/uplink`,
          `topic write edgepay/v1/${FLEET}/${STORE}/+/authorize`,
          `topic read edgepay/v1/${FLEET}/${STORE}/+/centre`,
          `topic read edgepay/v1/${FLEET}/${STORE}/rules`,
        ]),
      },
    });
    closers.push(() => central.stop());
    chmodSync(dir, (statSync(dir).mode & 0o7777) | 0o001);
    const database = await startPostgres({ dir: join(dir, 'postgres') });
    closers.push(() => database.stop());
    const ledger = await PostgresLedger.open({ url: database.url });
    closers.push(() => ledger.close());
    const service = await startCentreService(store, await prepareCentre(store, ledger), { brokerUrl: central.url, clientId: 'edgepay-centre-ha' });
    closers.push(() => service.stop());
    const requestsAtCentre: CentralMessage[] = [];
    const monitor = await watchRequests(central.url, CENTRE_USER, centralUsers[CENTRE_USER]!, requestsAtCentre);
    closers.push(() => monitor.endAsync(true));

    // The store's two brokers: the same configuration and ACL; each bridged to the centre under an
    // identity of its own there (one identity for both would make them take each other's session),
    // and the standby bridged to the primary.
    const peerBridgePassword = newPassword();
    const storeUsers = { ...nodeUsers, [DEFAULT_BRIDGE_USER]: newPassword(), [DEFAULT_PEER_BRIDGE_USER]: peerBridgePassword };
    const scope = { fleet: FLEET, store: STORE, peerBridgeUser: DEFAULT_PEER_BRIDGE_USER };
    const centreBridge = (remoteUser: string): string => plainBridgeConf('bridge.conf.example', { address: `127.0.0.1:${central.port}`, remoteUser, password: centralUsers[remoteUser]! });
    const primary = await startMosquittoServer({ dir: join(dir, 'broker-a'), users: storeUsers, acl: scope, extraConf: centreBridge(CENTRE_BRIDGES.primary) });
    closers.push(() => primary.stop());
    const standby = await startMosquittoServer({
      dir: join(dir, 'broker-b'),
      users: storeUsers,
      acl: scope,
      extraConf: `${centreBridge(CENTRE_BRIDGES.standby)}\n${plainBridgeConf('peer-bridge.conf.example', { address: `127.0.0.1:${primary.port}`, remoteUser: DEFAULT_PEER_BRIDGE_USER, password: peerBridgePassword })}`,
    });
    closers.push(() => standby.stop());

    const boxes: StoreNode[] = [];
    for (const [i, id] of BOXES.entries()) {
      const node = await startStoreBox(store, {
        id,
        seed: options.seed * 10 + i,
        cards: CARDS,
        transport: 'pty',
        brokerUrl: primary.url,
        standbyBrokerUrls: [standby.url],
        failbackAfterSeconds: options.failbackAfterSeconds,
        custodyAfterSeconds: options.custodyAfterSeconds,
        quorumTimeoutMs: options.quorumTimeoutMs,
        logLevel: 'info',
        readyTimeoutMs: 30_000,
        keepStdout: true,
      });
      closers.push(() => node.stop());
      boxes.push(node);
    }
    return { primary, standby, central, boxes, database, ledger, requestsAtCentre, replicasPath: (box) => join(box.dir, 'data', 'replicas.db'), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Subscribes on the central broker as the centre does, recording every request that arrives there. */
async function watchRequests(url: string, username: string, password: string, into: CentralMessage[]): Promise<MqttClient> {
  const client = connect(url, { clientId: `centre-monitor-${randomBytes(3).toString('hex')}`, username, password, clean: true, protocolVersion: 4, reconnectPeriod: 500 });
  client.on('message', (topic, payload) => into.push({ topic, payload: payload.toString('base64'), atMs: Date.now() }));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe([`edgepay/v1/${FLEET}/${STORE}/+/uplink`, `edgepay/v1/${FLEET}/${STORE}/+/authorize`], { qos: 1 }, (error) => (error ? reject(error) : resolve())));
  });
  return client;
}
