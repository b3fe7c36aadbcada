import type { KeyObject } from 'node:crypto';
import type { LedgerBackend } from '../../src/central/ledger-backend.js';
import type { JournalReader } from '../../src/journal/journal-reader.js';
import { ownSignedReads } from '../../src/reconcile/signed-reads.js';
import type { SignedEntries } from '../../src/reconcile/uplink.js';
import { type NodeKeyPair, generateNodeKeyPair, loadSigningKey } from '../../src/wire/keys.js';

/** Key pairs for test nodes, by node id. */
export function nodeKeys(nodeIds: readonly string[]): Map<string, NodeKeyPair> {
  return new Map(nodeIds.map((id) => [id, generateNodeKeyPair()]));
}

/** Registers each node's public key for `store` at the centre, as an operator does before its first batch. */
export async function registerKeys(backend: LedgerBackend, store: string, keys: ReadonlyMap<string, NodeKeyPair>): Promise<void> {
  for (const [nodeId, pair] of keys) await backend.registerNode({ nodeId, store, publicKeyPem: pair.publicKeyPem }, Date.now());
}

/** An uplink's read over a journal reader, signing each batch's last entry with the node's key. */
export function signedReadsOf(reader: JournalReader, key: KeyObject | NodeKeyPair | string): (fromSeq: number, limit: number) => SignedEntries | undefined {
  const signingKey = typeof key === 'string' ? loadSigningKey(key) : 'privateKey' in key ? key.privateKey : key;
  return ownSignedReads((from, limit) => reader.read(from, limit), signingKey);
}
