import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePrivateDirectory, writePrivateFile } from '../platform/private-files.js';
import { ReplicationError } from '../wire/errors.js';
import { generateNodeKeyPair, parsePublicKey, parseSigningKey } from '../wire/keys.js';

/**
 * The rules key is an Ed25519 pair like a node's, but held by the operator or the centre, never by
 * a node: a node gets only the public half (`replication.rulesPublicKeyFile`), so no lane box, even
 * a stolen one, can sign rules for its store.
 */
export const RULES_KEY_FILE = 'rules.key';
export const RULES_PUBLIC_KEY_FILE = 'rules.pub';

export interface RulesKeyFiles {
  readonly keyFile: string;
  readonly publicKeyFile: string;
}

/** Writes rules.key (PKCS8 PEM, mode 0600) and rules.pub (SPKI PEM) into `dir`; never over existing files unless `overwrite`. */
export function writeRulesKeyPair(dir: string, overwrite = false): RulesKeyFiles {
  const files = { keyFile: join(dir, RULES_KEY_FILE), publicKeyFile: join(dir, RULES_PUBLIC_KEY_FILE) };
  const present = [files.keyFile, files.publicKeyFile].filter((file) => existsSync(file));
  if (present.length > 0 && !overwrite) {
    // Replacing a rules key strands every node that knows the old public key: make it deliberate.
    throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `${present.join(' and ')} already exist; refusing to replace a rules key`, { present });
  }
  const pair = generateNodeKeyPair();
  try {
    makePrivateDirectory(dir);
    // writeFileSync's mode applies only to a new file: a replaced key file would keep its old mode.
    writePrivateFile(files.keyFile, pair.privateKeyPem);
    writeFileSync(files.publicKeyFile, pair.publicKeyPem);
  } catch (cause) {
    throw new ReplicationError('EDGEPAY_REPLICATION_STORE_IO', `cannot write the rules key into ${dir}: ${(cause as Error).message}`, { dir }, { cause });
  }
  return files;
}

export function loadRulesPublicKey(file: string): KeyObject {
  return parsePublicKey(readKey(file), `rules public key ${file}`);
}

export function loadRulesSigningKey(file: string): KeyObject {
  return parseSigningKey(readKey(file), `rules key ${file}`);
}

function readKey(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ReplicationError('EDGEPAY_REPLICATION_KEY_INVALID', `${file} cannot be read: ${(cause as Error).message}`, { source: file }, { cause });
  }
}
