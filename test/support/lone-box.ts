import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSealKeyPair } from '../../src/card/index.js';
import { type StoreNode, startStoreNode } from '../../src/rigs/store/store-node.js';
import { freePort } from '../../src/platform/free-port.js';

/**
 * One store box alone (no broker, no peers): a node process with its POS API and a simulated
 * reader on a pty, as a serial cable, so the reader outlives the node process as a reader does.
 */
export async function startLoneBox(dir: string, seed: number): Promise<StoreNode> {
  const centre = await generateSealKeyPair();
  writeFileSync(join(dir, 'centre.pub'), Buffer.from(centre.publicKey).toString('base64'));
  writeFileSync(join(dir, 'token.key'), randomBytes(32).toString('base64'));
  return startStoreNode({
    id: 'box-1',
    dir,
    seed,
    cards: 'good',
    transport: 'pty',
    keepStdout: true,
    apiPort: await freePort(),
    statusPort: await freePort(),
    config: { nodeId: 'box-1', dataDir: 'data', keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true }, log: { level: 'info' } },
  });
}
