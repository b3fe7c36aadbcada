import { readFileSync } from 'node:fs';
import type { LedgerBackend } from './ledger-backend.js';
import { checkRegistration } from './node-registry.js';

/** Registers a store's nodes from their public key files, as `edgepay centre nodes add` does one by one. */
export async function registerNodes(backend: LedgerBackend, store: string, nodes: readonly { readonly nodeId: string; readonly publicKeyFile: string }[], nowMs = Date.now()): Promise<void> {
  for (const node of nodes) {
    await backend.registerNode(checkRegistration({ nodeId: node.nodeId, store, publicKeyPem: readFileSync(node.publicKeyFile, 'utf8') }, node.publicKeyFile), nowMs);
  }
}
