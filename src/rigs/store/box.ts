import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../platform/free-port.js';
import { peersOf } from '../../replication/provision.js';
import type { ProvisionedStore } from './provision.js';
import { type StoreNode, startStoreNode } from './store-node.js';

export interface StoreBoxOptions {
  readonly id: string;
  readonly seed: number;
  /** The card script its simulated reader presents (see `edgepay reader simulate --cards`). */
  readonly cards: string;
  readonly transport: 'pty' | 'unix';
  readonly brokerUrl: string;
  readonly standbyBrokerUrls?: readonly string[];
  readonly failbackAfterSeconds?: number;
  readonly custodyAfterSeconds: number;
  /** Quorum acknowledgement, off unless given. */
  readonly quorumTimeoutMs?: number;
  /** Online authorization at the centre, with this timeout; offline only when absent. */
  readonly onlineTimeoutMs?: number;
  readonly logLevel: 'error' | 'warn' | 'info';
  readonly readyTimeoutMs?: number;
  readonly keepStdout?: boolean;
  /** 'secure' (the default): a reader provisioned for secure sessions, its key pinned on the lane. 'clear': a 1.0 reader. */
  readonly reader?: 'secure' | 'clear';
}

/**
 * One box of a provisioned store, in `store.dir/<id>`: its node configured as the installation
 * guide has it (token key as a credential, the store's rules, its own signing key and broker
 * password, its peers' public keys, the centre's keys pinned), started with its simulated reader.
 */
export async function startStoreBox(store: ProvisionedStore, options: StoreBoxOptions): Promise<StoreNode> {
  const { id } = options;
  const dir = join(store.dir, id);
  mkdirSync(dir, { recursive: true });
  const secureReader = (options.reader ?? 'secure') === 'secure' ? store.readers[id] : undefined;
  return startStoreNode({
    ...(secureReader === undefined ? {} : { secureReader }),
    id,
    dir,
    seed: options.seed,
    cards: options.cards,
    transport: options.transport,
    apiPort: await freePort(),
    statusPort: await freePort(),
    ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
    ...(options.keepStdout === undefined ? {} : { keepStdout: options.keepStdout }),
    env: store.credentials.env,
    config: {
      nodeId: id,
      dataDir: 'data',
      rulesFile: store.rulesFile,
      keys: { tokenKeyFile: 'credential:token.key', centrePublicKeyFile: store.sealPublicKeyFile },
      replication: {
        fleet: store.fleet,
        store: store.store,
        brokerUrl: options.brokerUrl,
        ...(options.standbyBrokerUrls === undefined ? {} : { standbyBrokerUrls: options.standbyBrokerUrls }),
        ...(options.failbackAfterSeconds === undefined ? {} : { failbackAfterSeconds: options.failbackAfterSeconds }),
        username: id,
        passwordFile: store.passwordFile(id),
        signingKeyFile: store.keys.find((k) => k.nodeId === id)!.signingKeyFile,
        peers: peersOf(id, store.keys),
        custodyAfterSeconds: options.custodyAfterSeconds,
        ...(options.quorumTimeoutMs === undefined ? {} : { quorum: { enabled: true, timeoutMs: options.quorumTimeoutMs } }),
      },
      centre: {
        store: store.store,
        intervalMs: 500,
        answerTimeoutMs: 2_000,
        online: { enabled: options.onlineTimeoutMs !== undefined, timeoutMs: options.onlineTimeoutMs ?? 300 },
        signingPublicKeyFile: store.answerPublicKeyFile,
      },
      log: { level: options.logLevel },
    },
  });
}
