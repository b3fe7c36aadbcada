import { type KeyObject, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RegisteredNode } from '../central/node-registry.js';
import type { NodeConfig } from '../config/node-config.js';
import { loadSigningKey } from '../wire/keys.js';

export interface ForwardingIdentity {
  /** Signs the last entry of each batch this node forwards of its own journal. */
  readonly signingKey: KeyObject;
  /**
   * The nodes an embedded ledger takes batches from: this node and its configured peers, in the
   * node's store. An embedded ledger has no registry of its own to consult; the node's pinned keys are it.
   */
  readonly embeddedNodes: readonly RegisteredNode[];
}

/**
 * The key a node's batches are signed with: its replication signing key. A node without
 * replication forwards only into an embedded ledger in its own process; it gets a key made for
 * this run, so the ledger's checks are the same whichever way it is fed.
 */
export function forwardingIdentity(config: NodeConfig, store: string): ForwardingIdentity {
  const replication = config.replication;
  const signingKey = replication === undefined ? generateKeyPairSync('ed25519').privateKey : loadSigningKey(replication.signingKeyFile);
  const pem = (key: KeyObject): string => key.export({ type: 'spki', format: 'pem' }).toString();
  const self: RegisteredNode = { nodeId: config.nodeId, store, publicKeyPem: pem(createPublicKey(signingKey)), addedMs: 0, revokedMs: null };
  const peers = (replication?.peers ?? []).map((peer): RegisteredNode => ({ nodeId: peer.nodeId, store, publicKeyPem: readFileSync(peer.publicKeyFile, 'utf8'), addedMs: 0, revokedMs: null }));
  return { signingKey, embeddedNodes: [self, ...peers] };
}
