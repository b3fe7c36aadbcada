import { type KeyObject, verify } from 'node:crypto';
import { signedBytes } from '../wire/envelope.js';
import { parsePublicKey } from '../wire/keys.js';
import type { ForwardBatch } from './batch.js';

/**
 * The centre's registry of the fleet's nodes: which store each belongs to and the Ed25519 key its
 * journal entries are signed with. It is what makes a batch the centre's business: topics, client
 * ids and broker ACLs say who carried a batch, only the origin's registered key says whose it is.
 */
export interface RegisteredNode {
  readonly nodeId: string;
  readonly store: string;
  /** SPKI PEM, as the node's public key file holds it. */
  readonly publicKeyPem: string;
  readonly addedMs: number;
  /** Set once the node's key must no longer move money (a stolen or retired box). */
  readonly revokedMs: number | null;
}

/** Where the centre looks nodes up: the ledger database, or (embedded ledger) the node's own configuration. */
export interface NodeDirectory {
  lookup(nodeId: string): Promise<RegisteredNode | undefined>;
}

export type AuthenticationProblem = {
  readonly code: 'EDGEPAY_CENTRE_NODE_UNKNOWN' | 'EDGEPAY_CENTRE_NODE_REVOKED' | 'EDGEPAY_CENTRE_NODE_STORE' | 'EDGEPAY_CENTRE_CUSTODY_REFUSED' | 'EDGEPAY_CENTRE_SIGNATURE';
  readonly message: string;
};

/** Parsing a PEM costs more than a verification: one KeyObject per distinct registered key. */
const parsedKeys = new Map<string, KeyObject>();
const PARSED_KEYS_MAX = 4_096;

function keyOf(node: RegisteredNode): KeyObject {
  let key = parsedKeys.get(node.publicKeyPem);
  if (key === undefined) {
    key = parsePublicKey(node.publicKeyPem, `registered key of ${node.nodeId}`);
    if (parsedKeys.size >= PARSED_KEYS_MAX) parsedKeys.clear();
    parsedKeys.set(node.publicKeyPem, key);
  }
  return key;
}

/**
 * Whether a batch whose chain checkBatch already verified is its origin's, brought by someone who
 * may bring it: the origin itself, or a peer of the same store holding the origin in custody.
 * One signature is enough: the origin signed its last entry's (origin, seq, hash), and every hash
 * of the batch is recomputed and linked to the next, so that signature covers every entry.
 */
export function authenticateBatch(batch: ForwardBatch, origin: RegisteredNode | undefined, sender: RegisteredNode | undefined): AuthenticationProblem | undefined {
  const refusal = (code: AuthenticationProblem['code'], message: string): AuthenticationProblem => ({ code, message: `batch ${batch.batchId}: ${message}` });
  if (origin === undefined) return refusal('EDGEPAY_CENTRE_NODE_UNKNOWN', `origin ${batch.origin} is not a registered node`);
  if (origin.revokedMs !== null) return refusal('EDGEPAY_CENTRE_NODE_REVOKED', `origin ${batch.origin}'s key was revoked`);
  if (origin.store !== batch.store) return refusal('EDGEPAY_CENTRE_NODE_STORE', `origin ${batch.origin} is registered in store ${origin.store}, not ${batch.store}`);
  if (batch.sender !== batch.origin) {
    if (sender === undefined) return refusal('EDGEPAY_CENTRE_NODE_UNKNOWN', `sender ${batch.sender} is not a registered node`);
    if (sender.revokedMs !== null) return refusal('EDGEPAY_CENTRE_NODE_REVOKED', `sender ${batch.sender}'s key was revoked`);
    if (sender.store !== origin.store) {
      return refusal('EDGEPAY_CENTRE_CUSTODY_REFUSED', `sender ${batch.sender} of store ${sender.store} may not forward ${batch.origin} of store ${origin.store}: custody stays inside a store`);
    }
  }
  const last = batch.entries[batch.entries.length - 1];
  if (last === undefined || !verify(null, signedBytes(batch.origin, last.seq, last.hash), keyOf(origin), batch.signature)) {
    return refusal('EDGEPAY_CENTRE_SIGNATURE', `the signature on entry ${last?.seq ?? '?'} does not verify with ${batch.origin}'s registered key`);
  }
  return undefined;
}

/** A directory held in memory: the embedded ledger's, built from the node's own key and its peers'. */
export function directoryOf(nodes: readonly RegisteredNode[]): NodeDirectory {
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  return { lookup: async (nodeId) => byId.get(nodeId) };
}

/** What an operator registers: the node, its store and the public key file's content. */
export interface NodeRegistration {
  readonly nodeId: string;
  readonly store: string;
  readonly publicKeyPem: string;
}

/**
 * What registering does given what is held: a new or revoked node id (a replaced box) is
 * registered afresh; the same registration again changes nothing; another key or store for a live
 * node is refused, so a typo cannot silently hand a node's identity to another key.
 */
export function registrationChange(held: RegisteredNode | undefined, wanted: NodeRegistration): 'register' | 'unchanged' | { readonly conflict: string } {
  if (held === undefined || held.revokedMs !== null) return 'register';
  if (held.store === wanted.store && samePem(held.publicKeyPem, wanted.publicKeyPem)) return 'unchanged';
  const what = held.store !== wanted.store ? `store ${held.store}` : 'another key';
  return { conflict: `node ${wanted.nodeId} is registered with ${what}; revoke it first to register it again` };
}

/** Checks the key before anything is stored: an Ed25519 SPKI PEM, never a private key. */
export function checkRegistration(wanted: NodeRegistration, source: string): NodeRegistration {
  parsePublicKey(wanted.publicKeyPem, source);
  return { ...wanted, publicKeyPem: `${wanted.publicKeyPem.trim()}\n` };
}

function samePem(a: string, b: string): boolean {
  return a.trim() === b.trim();
}
