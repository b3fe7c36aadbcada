import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { requireSocat } from '../rigs/readers/pty-pair.js';
import { PostgresLedger } from '../central/postgres-ledger.js';
import { startStoreBox } from '../rigs/store/box.js';
import { prepareCentre, startCentreService } from '../rigs/store/centre.js';
import { perCardLimitsOnly, provisionStore } from '../rigs/store/provision.js';
import { Closers } from '../rigs/closers.js';
import type { StoreNode } from '../rigs/store/store-node.js';
import { type MosquittoServer, startMosquittoServer } from '../rigs/broker/mosquitto-server.js';
import { type PostgresServer, startPostgres } from '../rigs/database/postgres-server.js';
import { TcpGate } from '../rigs/network/tcp-gate.js';
import { DiskFiller } from '../rigs/disk/disk-filler.js';
import type { ChaosBox } from './faults.js';
import { CURRENCY } from './pos-load.js';

export const BOXES = ['box-1', 'box-2', 'box-3'] as const;
const FLEET = 'chaos';
const STORE = 'store-1';
/** The customers at each lane: mostly new cards, regulars who come back to every lane, a stolen and an expired card. */
const CARDS = 'good,regular,good,regular,good,hot,regular,good,expired,regular,good,good';
export const PER_CARD = { maxCount: 3, maxAmountMinor: 20_000 } as const;
/** Room for a few minutes of chaos on each box's own disk. */
const DISK_MEGABYTES = 64;

export interface ChaosStore {
  readonly boxes: readonly ChaosBox[];
  readonly broker: MosquittoServer;
  readonly database: PostgresServer;
  readonly ledger: PostgresLedger;
  /** Why the boxes have no disk of their own, when they have not (the disk fault is then left out). */
  readonly diskUnavailable: string | null;
  replicasPath(box: StoreNode): string;
  close(): Promise<void>;
}

/**
 * A real store on this machine: Mosquitto from the shipped configuration, the centre on a
 * PostgreSQL server, three node processes each behind a TCP gate to the broker (to cut it off)
 * and, as root, on a tmpfs of its own (to fill), each with a simulated reader on a socat pty pair.
 */
export async function startChaosStore(dir: string, seed: number, progress: (line: string) => void): Promise<ChaosStore> {
  requireSocat();
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

    progress('starting Mosquitto (shipped configuration and ACL) and PostgreSQL');
    const broker = await startMosquittoServer({ dir: join(dir, 'broker'), users: store.passwords, acl: { fleet: FLEET, store: STORE }, option: 'chaos' });
    closers.push(() => broker.stop());
    // PostgreSQL may run as its own user, who must be able to pass through this directory to its own.
    chmodSync(dir, (statSync(dir).mode & 0o7777) | 0o001);
    const database = await startPostgres({ dir: join(dir, 'postgres') });
    closers.push(() => database.stop());
    const ledger = await PostgresLedger.open({ url: database.url });
    closers.push(() => ledger.close());
    const service = await startCentreService(store, await prepareCentre(store, ledger), { brokerUrl: broker.url, clientId: 'edgepay-centre-chaos' });
    closers.push(() => service.stop());

    let diskUnavailable: string | null = null;
    const boxes: ChaosBox[] = [];
    for (const [i, id] of BOXES.entries()) {
      const boxDir = join(dir, id);
      mkdirSync(boxDir, { recursive: true });
      let disk: DiskFiller | undefined;
      if (diskUnavailable === null) {
        try {
          disk = DiskFiller.mount(join(boxDir, 'data'), DISK_MEGABYTES);
          const mounted = disk;
          closers.push(() => mounted.unmount());
        } catch (error) {
          diskUnavailable = error instanceof Error ? error.message.split('\n')[0]! : String(error);
        }
      }
      const gate = await TcpGate.open(broker.port);
      closers.push(() => gate.close());
      progress(`starting ${id}: node process behind a gate to the broker${disk === undefined ? '' : `, on a ${DISK_MEGABYTES} MB disk of its own`}, simulated reader on a socat pty pair`);
      const node = await startStoreBox(store, {
        id,
        seed: seed * 10 + i,
        cards: CARDS,
        transport: 'pty',
        brokerUrl: gate.url,
        custodyAfterSeconds: 5,
        onlineTimeoutMs: 300,
        logLevel: 'error',
        readyTimeoutMs: 30_000,
      });
      closers.push(() => node.stop());
      boxes.push({ node, gate, disk });
    }
    return {
      boxes,
      broker,
      database,
      ledger,
      diskUnavailable,
      replicasPath: (node) => join(node.dir, 'data', 'replicas.db'),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
