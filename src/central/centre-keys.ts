import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgepayError } from '../errors.js';
import { makePrivateDirectory, writePrivateFile } from '../platform/private-files.js';
import { type NodeKeyPair, generateNodeKeyPair, parsePublicKey, parseSigningKey } from '../wire/keys.js';

/**
 * The centre's answer key: an Ed25519 pair like a node's. The private half stays with the centre
 * processes (`signingKeyFile`), the public half goes to every node (`centre.signingPublicKeyFile`),
 * so a node believes an online decision or a batch outcome only if the centre signed it: broker
 * credentials, which every box holds for its own topics, are not enough to speak for the centre.
 */
export const CENTRE_SIGNING_KEY_FILE = 'centre-signing.key';
export const CENTRE_SIGNING_PUBLIC_KEY_FILE = 'centre-signing.pub';

export interface CentreKeyFiles {
  readonly keyFile: string;
  readonly publicKeyFile: string;
}

export function generateCentreKeyPair(): NodeKeyPair {
  return generateNodeKeyPair();
}

/** Writes centre-signing.key (PKCS8 PEM, mode 0600) and centre-signing.pub (SPKI PEM) into `dir`; never over an existing file. */
export function writeCentreKeyPair(dir: string): CentreKeyFiles {
  const files = { keyFile: join(dir, CENTRE_SIGNING_KEY_FILE), publicKeyFile: join(dir, CENTRE_SIGNING_PUBLIC_KEY_FILE) };
  const present = [files.keyFile, files.publicKeyFile].filter((file) => existsSync(file));
  if (present.length > 0) {
    // A new key strands every node that pins the old one (they would refuse every answer): never by accident.
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `${present.join(' and ')} already exist; refusing to replace the centre's signing key`, { present });
  }
  const pair = generateCentreKeyPair();
  try {
    makePrivateDirectory(dir);
    // Exclusive: a file made meanwhile by someone else is not overwritten either.
    writePrivateFile(files.keyFile, pair.privateKeyPem, { exclusive: true });
    writeFileSync(files.publicKeyFile, pair.publicKeyPem, { flag: 'wx' });
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `cannot write the centre's signing key into ${dir}: ${(cause as Error).message}`, { dir }, { cause });
  }
  return files;
}

export function loadCentreSigningKey(file: string): KeyObject {
  return asKeyError(file, () => parseSigningKey(readKey(file), `centre signing key ${file}`));
}

export function loadCentrePublicKey(file: string): KeyObject {
  return asKeyError(file, () => parsePublicKey(readKey(file), `centre signing public key ${file}`));
}

function readKey(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_KEY_INVALID', `${file} cannot be read: ${(cause as Error).message}`, { file }, { cause });
  }
}

/** The parsers speak replication's codes; a bad key file named in a configuration is bad input (exit 2). */
function asKeyError(file: string, parse: () => KeyObject): KeyObject {
  try {
    return parse();
  } catch (cause) {
    if (cause instanceof EdgepayError) throw cause;
    throw new EdgepayError('EDGEPAY_KEY_INVALID', (cause as Error).message, { file }, { cause });
  }
}
