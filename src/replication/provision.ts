import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePrivateDirectory, writePrivateFile } from '../platform/private-files.js';
import { generateNodeKeyPair } from '../wire/keys.js';
import { assertTopicId } from '../wire/topics.js';

export interface ProvisionedNode {
  readonly nodeId: string;
  /** PKCS8 PEM, mode 0600: stays on this node only. */
  readonly signingKeyFile: string;
  /** SPKI PEM: copied to every other node of the store. */
  readonly publicKeyFile: string;
}

/**
 * Generates a key pair per node of a store into `dir` (<node>.key, <node>.pub): what an installer
 * or a test needs before the nodes' replication sections can be written.
 */
export function provisionNodeKeys(dir: string, nodeIds: readonly string[]): ProvisionedNode[] {
  makePrivateDirectory(dir);
  return nodeIds.map((nodeId) => {
    assertTopicId('node', nodeId);
    const pair = generateNodeKeyPair();
    const signingKeyFile = join(dir, `${nodeId}.key`);
    const publicKeyFile = join(dir, `${nodeId}.pub`);
    writePrivateFile(signingKeyFile, pair.privateKeyPem);
    writeFileSync(publicKeyFile, pair.publicKeyPem);
    return { nodeId, signingKeyFile, publicKeyFile };
  });
}

/** The `peers` list of `nodeId`: every other provisioned node. */
export function peersOf(nodeId: string, nodes: readonly ProvisionedNode[]): { nodeId: string; publicKeyFile: string }[] {
  return nodes.filter((n) => n.nodeId !== nodeId).map((n) => ({ nodeId: n.nodeId, publicKeyFile: n.publicKeyFile }));
}
