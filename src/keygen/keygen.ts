import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createApiTokenFile } from '../api/api-token.js';
import { generateSealKeyPair } from '../card/seal.js';
import { type SealWithKey, TOKEN_KEY_CREDENTIAL, sealTokenKey } from '../card/token-key-credential.js';
import { CENTRE_SIGNING_KEY_FILE, CENTRE_SIGNING_PUBLIC_KEY_FILE, writeCentreKeyPair } from '../central/centre-keys.js';
import { EdgepayError } from '../errors.js';
import { makePrivateDirectory, writePrivateFile } from '../platform/private-files.js';
import { generateNodeKeyPair } from '../wire/keys.js';
import { readerKeyPairFromSeed } from '../reader/protocol/index.js';
import { RULES_KEY_FILE, RULES_PUBLIC_KEY_FILE, writeRulesKeyPair } from '../rules/keys.js';

/*
 * Every key a fleet needs, from one entry point and from the generators the rest of edgepay already
 * uses, so that installing a box takes no openssl pipeline (whose umask, encoding or length is easy
 * to get wrong). A pair kind writes into a directory, its private half 0600, its public half 0644;
 * a single-secret kind writes one file. Nothing is ever replaced: a new key strands whoever holds the
 * old public half (nodes pinning the centre's key, peers knowing a node's), so a replacement is an
 * operator's deliberate act (move the old file away first).
 */

export const KEY_KINDS = ['node-signing', 'centre-signing', 'card-seal', 'rules', 'reader-signing', 'api-token', 'token-key'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

/** Kinds whose --out is a directory (a private and a public file); the others write one file. */
export const PAIR_KINDS: readonly KeyKind[] = ['node-signing', 'centre-signing', 'card-seal', 'rules', 'reader-signing'];

export const NODE_SIGNING_KEY_FILE = 'signing.key';
export const NODE_SIGNING_PUBLIC_KEY_FILE = 'signing.pub';
export const CARD_SEAL_KEY_FILE = 'card-seal.key';
export const CARD_SEAL_PUBLIC_KEY_FILE = 'card-seal.pub';
export const READER_SEED_FILE = 'reader.seed';
export const READER_PUBLIC_KEY_FILE = 'reader.pub';
const PUBLIC_FILE_MODE = 0o644;

export interface KeygenOptions {
  readonly kind: KeyKind;
  /** A directory for a pair kind, the file for api-token and token-key. */
  readonly out: string;
  /** token-key only: what systemd-creds seals to. */
  readonly withKey?: SealWithKey;
}

export interface KeygenResult {
  readonly kind: KeyKind;
  readonly privateFile: string;
  /** Pair kinds only. */
  readonly publicFile?: string;
  /** Where each half goes, for the operator: one line each. */
  readonly next: readonly string[];
}

export function isKeyKind(value: string): value is KeyKind {
  return (KEY_KINDS as readonly string[]).includes(value);
}

export async function generateKey(options: KeygenOptions): Promise<KeygenResult> {
  const { kind, out } = options;
  switch (kind) {
    case 'node-signing':
      return nodeSigning(out);
    case 'centre-signing': {
      refuseExisting(kind, [join(out, CENTRE_SIGNING_KEY_FILE), join(out, CENTRE_SIGNING_PUBLIC_KEY_FILE)]);
      const files = writeCentreKeyPair(out);
      return {
        kind,
        privateFile: files.keyFile,
        publicFile: files.publicKeyFile,
        next: [
          `${files.keyFile}: keep it on the centre only (centre.yaml signingKeyFile, e.g. credential:centre-signing.key)`,
          `${files.publicKeyFile}: copy it to every node (node.yaml centre.signingPublicKeyFile): nodes believe only answers signed with its private half`,
        ],
      };
    }
    case 'card-seal':
      return cardSeal(out);
    case 'rules': {
      refuseExisting(kind, [join(out, RULES_KEY_FILE), join(out, RULES_PUBLIC_KEY_FILE)]);
      const files = writeRulesKeyPair(out);
      return {
        kind,
        privateFile: files.keyFile,
        publicFile: files.publicKeyFile,
        next: [
          `${files.keyFile}: keep it with the operator or the centre, never on a store box (edgepay rules publish --key, centre push-rules --key)`,
          `${files.publicKeyFile}: copy it to every node (node.yaml replication.rulesPublicKeyFile): nodes apply only rules signed with its private half`,
        ],
      };
    }
    case 'reader-signing':
      return readerSigning(out);
    case 'api-token':
      return apiToken(out);
    case 'token-key': {
      // Delegated whole: the key exists only sealed to this machine, and seal-token-key refuses an existing file itself.
      // systemd-creds writes only the file; /etc/credstore.encrypted/ may not be there yet on a new box.
      makePrivateDirectory(dirname(out));
      const sealed = await sealTokenKey({ out, withKey: options.withKey ?? 'auto', name: TOKEN_KEY_CREDENTIAL });
      return {
        kind,
        privateFile: sealed.out,
        next: [
          `${sealed.out}: sealed to this machine (--with-key=${sealed.withKey}); the unit loads it with LoadCredentialEncrypted=${sealed.name}:${sealed.out}, node.yaml names it credential:${sealed.name}`,
          "every box of a store needs the same token key: for the second box, seal the fleet's key instead (edgepay node seal-token-key --stdin)",
        ],
      };
    }
  }
}

function nodeSigning(dir: string): KeygenResult {
  const privateFile = join(dir, NODE_SIGNING_KEY_FILE);
  const publicFile = join(dir, NODE_SIGNING_PUBLIC_KEY_FILE);
  refuseExisting('node-signing', [privateFile, publicFile]);
  const pair = generateNodeKeyPair();
  writeExclusivePair(privateFile, pair.privateKeyPem, publicFile, pair.publicKeyPem);
  return {
    kind: 'node-signing',
    privateFile,
    publicFile,
    next: [
      `${privateFile}: keep it on this box only (node.yaml replication.signingKeyFile, e.g. credential:signing.key)`,
      `${publicFile}: register it at the centre (edgepay centre nodes add --public-key) and copy it to the store's other boxes (replication.peers[].publicKeyFile)`,
    ],
  };
}

async function cardSeal(dir: string): Promise<KeygenResult> {
  const privateFile = join(dir, CARD_SEAL_KEY_FILE);
  const publicFile = join(dir, CARD_SEAL_PUBLIC_KEY_FILE);
  refuseExisting('card-seal', [privateFile, publicFile]);
  const pair = await generateSealKeyPair();
  // One base64 line each: the format node.yaml's keys.centrePublicKeyFile is read in (card/keys.ts).
  writeExclusivePair(privateFile, `${Buffer.from(pair.secretKey).toString('base64')}\n`, publicFile, `${Buffer.from(pair.publicKey).toString('base64')}\n`);
  pair.secretKey.fill(0);
  return {
    kind: 'card-seal',
    privateFile,
    publicFile,
    next: [
      `${privateFile}: the centre's X25519 key, the only one that opens sealed card data: keep it at the centre, never on a store box`,
      `${publicFile}: copy it to every node as its keys.centrePublicKeyFile (the install guide's /etc/edgepay/centre.pub): nodes seal card data to it`,
    ],
  };
}

/** A card reader's Ed25519 key for secure sessions (reader protocol 1.1), in the raw forms firmware keeps. */
function readerSigning(dir: string): KeygenResult {
  const privateFile = join(dir, READER_SEED_FILE);
  const publicFile = join(dir, READER_PUBLIC_KEY_FILE);
  refuseExisting('reader-signing', [privateFile, publicFile]);
  const seed = randomBytes(32);
  const { publicKey } = readerKeyPairFromSeed(seed);
  const publicBase64 = Buffer.from(publicKey).toString('base64');
  writeExclusivePair(privateFile, `${seed.toString('base64')}\n`, publicFile, `${publicBase64}\n`);
  seed.fill(0);
  return {
    kind: 'reader-signing',
    privateFile,
    publicFile,
    next: [
      `${privateFile}: the reader's seed: load it into the reader when it is provisioned (edgepay reader simulate --reader-seed-file), then keep no copy`,
      `${publicFile}: pin it in node.yaml on the reader's lane: readerPublicKey: ${publicBase64} (the lane then takes only sealed card data signed by this reader)`,
    ],
  };
}

function apiToken(file: string): KeygenResult {
  refuseExisting('api-token', [file]);
  makePrivateDirectory(dirname(file));
  // createApiTokenFile opens with 'wx': a token made meanwhile is not replaced either.
  if (!createApiTokenFile(file)) refuseExisting('api-token', [file]);
  return {
    kind: 'api-token',
    privateFile: file,
    next: [`${file}: the POS API's bearer token (node.yaml api.tokenFile, e.g. credential:api.token); give the POS a copy over a channel you trust, never by e-mail`],
  };
}

/** Private half 0600, public half 0644, both created exclusively (never over a file made meanwhile). */
function writeExclusivePair(privateFile: string, privateText: string, publicFile: string, publicText: string): void {
  try {
    writePrivateFile(privateFile, privateText, { exclusive: true });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') refuseExisting('keygen', [privateFile]);
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `cannot write ${privateFile}: ${(cause as Error).message}`, { privateFile }, { cause });
  }
  try {
    writeFileSync(publicFile, publicText, { flag: 'wx' });
    // Readable by all whatever the umask (a unit's 0077 included): it is copied to other machines.
    chmodSync(publicFile, PUBLIC_FILE_MODE);
  } catch (cause) {
    // A private half without its public half is of no use, and would block the next attempt.
    rmSync(privateFile, { force: true });
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') refuseExisting('keygen', [publicFile]);
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `cannot write ${privateFile} and ${publicFile}: ${(cause as Error).message}`, { privateFile, publicFile }, { cause });
  }
}

function refuseExisting(kind: string, files: readonly string[]): void {
  const present = files.filter((file) => existsSync(file));
  if (present.length === 0) return;
  throw new EdgepayError(
    'EDGEPAY_CREDENTIAL_EXISTS',
    `${present.join(' and ')} already ${present.length === 1 ? 'exists' : 'exist'}; edgepay keygen ${kind} never replaces a key (whoever holds its other half would be stranded): move the old file away first if you mean to replace it`,
    { kind, present },
  );
}
