import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { requireSocat } from '../bench/lane-pty.js';
import { tokenizePan } from '../card/capture.js';
import { generateSealKeyPair } from '../card/seal.js';
import { Centre } from '../central/centre.js';
import { registerNodes } from '../central/register-nodes.js';
import { CentreService } from '../central/centre-service.js';
import { CENTRE_SIGNING_PUBLIC_KEY_FILE, generateCentreKeyPair } from '../central/centre-keys.js';
import { PostgresLedger } from '../central/postgres-ledger.js';
import { type StoreNode, startStoreNode } from '../demo/store/store-node.js';
import { freePort } from '../platform/free-port.js';
import { createMemoryCredentials } from '../platform/memory-credentials.js';
import { SIM_HOT_PAN } from '../reader/simulator/cards.js';
import { peersOf, provisionNodeKeys } from '../replication/provision.js';
import { type MosquittoServer, startMosquittoServer } from '../testing/mosquitto-server.js';
import { type PostgresServer, startPostgres } from '../testing/postgres-server.js';
import { TcpGate } from '../testing/tcp-gate.js';
import { DiskFiller } from './disk-filler.js';
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
  const closers: (() => Promise<unknown> | unknown)[] = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.splice(0).reverse()) await Promise.resolve(closer()).catch(() => undefined);
  };
  try {
    const tokenKey = randomBytes(32);
    // As in production, the key reaches the nodes as a credential in memory, never as a file on disk.
    const credentials = createMemoryCredentials({ 'token.key': tokenKey.toString('base64') });
    closers.push(() => credentials.remove());
    const seal = await generateSealKeyPair();
    writeFileSync(join(dir, 'centre.pub'), Buffer.from(seal.publicKey).toString('base64'));
    // The centre's answer key: the nodes pin its public half and believe only answers signed with it.
    const answerKey = generateCentreKeyPair();
    writeFileSync(join(dir, CENTRE_SIGNING_PUBLIC_KEY_FILE), answerKey.publicKeyPem);
    const hotToken = tokenizePan(SIM_HOT_PAN, tokenKey);
    writeFileSync(
      join(dir, 'rules.json'),
      JSON.stringify({
        version: 1,
        currencies: { [CURRENCY]: { floorLimitMinor: 10_000 } },
        perCard: { windowMinutes: 1_440, maxCount: PER_CARD.maxCount, maxAmountMinor: { [CURRENCY]: PER_CARD.maxAmountMinor } },
        // Node caps far above a chaos run: the per-card limits are what is watched.
        node: { maxStoredCount: 100_000, maxStoredAmountMinor: { [CURRENCY]: 1_000_000_000 }, forwardDeadlineHours: 6 },
        hotCards: { version: 1, tokens: [hotToken] },
      }),
    );
    const keys = provisionNodeKeys(join(dir, 'keys'), [...BOXES]);
    const users: Record<string, string> = { 'edgepay-centre': randomBytes(12).toString('base64url') };
    for (const box of BOXES) {
      users[box] = randomBytes(12).toString('base64url');
      writeFileSync(join(dir, `${box}.password`), `${users[box]}\n`, { mode: 0o600 });
    }

    progress('starting Mosquitto (shipped configuration and ACL) and PostgreSQL');
    const broker = await startMosquittoServer({ dir: join(dir, 'broker'), users, acl: { fleet: FLEET, store: STORE }, option: 'chaos' });
    closers.push(() => broker.stop());
    // PostgreSQL may run as its own user, who must be able to pass through this directory to its own.
    chmodSync(dir, (statSync(dir).mode & 0o7777) | 0o001);
    const database = await startPostgres({ dir: join(dir, 'postgres') });
    closers.push(() => database.stop());
    const ledger = await PostgresLedger.open({ url: database.url });
    closers.push(() => ledger.close());
    await ledger.setCardStanding(hotToken, 'hot_listed');
    await registerNodes(ledger, STORE, keys);
    const centre = new Centre({ backend: ledger, forwardDeadlineHours: 6 });
    const service = await CentreService.start({
      centre,
      fleet: FLEET,
      brokerUrl: broker.url,
      username: 'edgepay-centre',
      password: users['edgepay-centre']!,
      clientId: 'edgepay-centre-chaos',
      logger: pino({ level: 'silent' }),
      signingKey: answerKey.privateKey,
    });
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
      const node = await startStoreNode({
        id,
        dir: boxDir,
        seed: seed * 10 + i,
        cards: CARDS,
        transport: 'pty',
        apiPort: await freePort(),
        statusPort: await freePort(),
        readyTimeoutMs: 30_000,
        env: credentials.env,
        config: {
          nodeId: id,
          dataDir: 'data',
          rulesFile: join(dir, 'rules.json'),
          keys: { tokenKeyFile: 'credential:token.key', centrePublicKeyFile: join(dir, 'centre.pub') },
          replication: {
            fleet: FLEET,
            store: STORE,
            brokerUrl: gate.url,
            username: id,
            passwordFile: join(dir, `${id}.password`),
            signingKeyFile: keys.find((k) => k.nodeId === id)!.signingKeyFile,
            peers: peersOf(id, keys),
            custodyAfterSeconds: 5,
          },
          centre: { store: STORE, intervalMs: 500, answerTimeoutMs: 2_000, online: { enabled: true, timeoutMs: 300 }, signingPublicKeyFile: join(dir, CENTRE_SIGNING_PUBLIC_KEY_FILE) },
          log: { level: 'error' },
        },
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
