import { type KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ReplicationError } from './errors.js';
import { assertTopicId } from './topics.js';

/**
 * Node keys are Ed25519 (node:crypto, native). Each node signs its own entries with its private
 * key (PKCS8 PEM, readable by the node only) and knows its peers by their public keys (SPKI PEM),
 * all from local files: a node boots and replicates without fetching anything online.
 */

/** The known node keys of the fleet, by node id. An origin missing here is rejected as 'unknown_key'. */
export type KeyRing = ReadonlyMap<string, KeyObject>;

export interface NodeKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** PKCS8 PEM, for the node's signing key file. */
  readonly privateKeyPem: string;
  /** SPKI PEM, for its peers' public key files. */
  readonly publicKeyPem: string;
}

export function generateNodeKeyPair(): NodeKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey,
    publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function parseSigningKey(pem: string, source = 'signing key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw keyError(source, `is not a PKCS8 PEM private key: ${(cause as Error).message}`, cause);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw keyError(source, `is a ${String(key.asymmetricKeyType)} key, not Ed25519`);
  return key;
}

export function parsePublicKey(pem: string, source = 'public key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw keyError(source, `is not an SPKI PEM public key: ${(cause as Error).message}`, cause);
  }
  // createPublicKey also accepts a private key and derives its public half; a peer file holding a private key is a leak.
  if (/PRIVATE KEY/.test(pem)) throw keyError(source, 'holds a private key; peers must only ever get public keys');
  if (key.asymmetricKeyType !== 'ed25519') throw keyError(source, `is a ${String(key.asymmetricKeyType)} key, not Ed25519`);
  return key;
}

export function loadSigningKey(file: string): KeyObject {
  return parseSigningKey(readKeyFile(file), file);
}

export interface PeerKeyFile {
  readonly nodeId: string;
  readonly publicKeyFile: string;
}

export function loadKeyRing(peers: readonly PeerKeyFile[]): KeyRing {
  const ring = new Map<string, KeyObject>();
  for (const peer of peers) {
    assertTopicId('node', peer.nodeId);
    if (ring.has(peer.nodeId)) {
      throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `peer ${JSON.stringify(peer.nodeId)} is listed twice`, { nodeId: peer.nodeId });
    }
    ring.set(peer.nodeId, parsePublicKey(readKeyFile(peer.publicKeyFile), peer.publicKeyFile));
  }
  return ring;
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw keyError(file, `cannot be read: ${(cause as Error).message}`, cause);
  }
}

function keyError(source: string, problem: string, cause?: unknown): ReplicationError {
  return new ReplicationError('EDGEPAY_REPLICATION_KEY_INVALID', `${source} ${problem}`, { source }, cause === undefined ? undefined : { cause });
}
