import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenizePan } from '../../card/capture.js';
import { generateSealKeyPair } from '../../card/seal.js';
import { CENTRE_SIGNING_PUBLIC_KEY_FILE, generateCentreKeyPair } from '../../central/centre-keys.js';
import type { NodeKeyPair } from '../../wire/keys.js';
import { type MemoryCredentials, createMemoryCredentials } from '../../platform/memory-credentials.js';
import { readerKeyPairFromSeed } from '../../reader/protocol/index.js';
import { SIM_HOT_PAN } from '../../reader/simulator/cards.js';
import type { SecureReaderFiles } from '../readers/reader-sim.js';
import { type ProvisionedNode, provisionNodeKeys } from '../../replication/provision.js';

/** The broker user the centre connects as. */
export const CENTRE_USER = 'edgepay-centre';

/** The store's offline limits, in one currency: what rules.json says. */
export interface StoreLimits {
  readonly currency: string;
  readonly floorLimitMinor: number;
  readonly perCard: { readonly maxCount: number; readonly maxAmountMinor: number };
  readonly node: { readonly maxStoredCount: number; readonly maxStoredAmountMinor: number };
}

/** Store limits under which only the per-card ones bind: the node's caps are far above any run's totals. */
export function perCardLimitsOnly(currency: string, perCard: StoreLimits['perCard']): StoreLimits {
  return { currency, floorLimitMinor: 10_000, perCard, node: { maxStoredCount: 100_000, maxStoredAmountMinor: 1_000_000_000 } };
}

export interface StoreProvisionOptions {
  readonly fleet: string;
  readonly store: string;
  readonly boxes: readonly string[];
  readonly limits: StoreLimits;
  /** The store's token key; a new random one when absent (a test playing an attacker who holds it gives its own). */
  readonly tokenKey?: Buffer;
}

/**
 * Everything an installer gives a store before its first start, made for a run in `dir`: the
 * token key (as an in-memory credential, never a file on disk), the centre's seal and answer keys,
 * each box's signing key and broker password, and the rules with the simulator's stolen card on
 * the hot list.
 */
export interface ProvisionedStore {
  readonly dir: string;
  readonly fleet: string;
  readonly store: string;
  readonly boxes: readonly string[];
  readonly limits: StoreLimits;
  readonly tokenKey: Buffer;
  /** The token of the simulator's stolen card, hot-listed in the rules and at the centre. */
  readonly hotToken: string;
  /** The token key as the nodes read it: `credential:token.key` under this environment. */
  readonly credentials: MemoryCredentials;
  /** The centre's answer key: the nodes pin its public half and believe only answers signed with it. */
  readonly answerKey: NodeKeyPair;
  readonly keys: readonly ProvisionedNode[];
  /** Broker passwords by user: the centre's and each box's. */
  readonly passwords: Readonly<Record<string, string>>;
  readonly rulesFile: string;
  /** The centre's seal public key, which the nodes seal card data to. */
  readonly sealPublicKeyFile: string;
  /** Each box's reader, provisioned for secure sessions: its key files (in memory) and the key its lane pins. */
  readonly readers: Readonly<Record<string, SecureReaderFiles>>;
  /** The public half of the answer key. */
  readonly answerPublicKeyFile: string;
  passwordFile(box: string): string;
  /** Removes the in-memory credentials. */
  remove(): void;
}

function readerSeedCredential(box: string): string {
  return `reader-${box}.seed`;
}

export async function provisionStore(dir: string, options: StoreProvisionOptions): Promise<ProvisionedStore> {
  const { limits } = options;
  const tokenKey = options.tokenKey ?? randomBytes(32);
  // Each box's reader gets a key of its own. Like the token key, the seeds stay in memory: a
  // reader keeps its secrets in its own storage, never on the box's disk.
  const readerSeeds = new Map(options.boxes.map((box) => [box, randomBytes(32)]));
  const credentials = createMemoryCredentials({
    'token.key': tokenKey.toString('base64'),
    ...Object.fromEntries([...readerSeeds].map(([box, seed]) => [readerSeedCredential(box), seed.toString('base64')])),
  });
  try {
    const seal = await generateSealKeyPair();
    const sealPublicKeyFile = join(dir, 'centre.pub');
    writeFileSync(sealPublicKeyFile, Buffer.from(seal.publicKey).toString('base64'));
    const answerKey = generateCentreKeyPair();
    const answerPublicKeyFile = join(dir, CENTRE_SIGNING_PUBLIC_KEY_FILE);
    writeFileSync(answerPublicKeyFile, answerKey.publicKeyPem);
    const hotToken = tokenizePan(SIM_HOT_PAN, tokenKey);
    const rulesFile = join(dir, 'rules.json');
    writeFileSync(
      rulesFile,
      JSON.stringify({
        version: 1,
        currencies: { [limits.currency]: { floorLimitMinor: limits.floorLimitMinor } },
        perCard: { windowMinutes: 1_440, maxCount: limits.perCard.maxCount, maxAmountMinor: { [limits.currency]: limits.perCard.maxAmountMinor } },
        node: { maxStoredCount: limits.node.maxStoredCount, maxStoredAmountMinor: { [limits.currency]: limits.node.maxStoredAmountMinor }, forwardDeadlineHours: 6 },
        hotCards: { version: 1, tokens: [hotToken] },
      }),
    );
    const keys = provisionNodeKeys(join(dir, 'keys'), options.boxes);
    const passwordFile = (box: string): string => join(dir, `${box}.password`);
    const passwords: Record<string, string> = { [CENTRE_USER]: newPassword() };
    for (const box of options.boxes) {
      passwords[box] = newPassword();
      writeFileSync(passwordFile(box), `${passwords[box]}\n`, { mode: 0o600 });
    }
    const readers = Object.fromEntries(
      [...readerSeeds].map(([box, seed]): [string, SecureReaderFiles] => [
        box,
        {
          seedFile: join(credentials.directory, readerSeedCredential(box)),
          tokenKeyFile: join(credentials.directory, 'token.key'),
          centreKeyFile: sealPublicKeyFile,
          publicKey: Buffer.from(readerKeyPairFromSeed(seed).publicKey).toString('base64'),
        },
      ]),
    );
    for (const seed of readerSeeds.values()) seed.fill(0);
    return {
      dir,
      fleet: options.fleet,
      readers,
      store: options.store,
      boxes: options.boxes,
      limits,
      tokenKey,
      hotToken,
      credentials,
      answerKey,
      keys,
      passwords,
      rulesFile,
      sealPublicKeyFile,
      answerPublicKeyFile,
      passwordFile,
      remove: () => credentials.remove(),
    };
  } catch (error) {
    credentials.remove();
    throw error;
  }
}

export function newPassword(): string {
  return randomBytes(12).toString('base64url');
}
