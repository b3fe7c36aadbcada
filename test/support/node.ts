import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSealKeyPair } from '../../src/card/index.js';
import { type NodeConfig, type NodeConfigInput, parseNodeConfig } from '../../src/config/node-config.js';
import { initNode } from '../../src/app/init.js';

/** The POS API on a free loopback port, its bearer token in `api.token` beside the configuration (written by init). */
export const LOOPBACK_API = { host: '127.0.0.1', port: 0, tokenFile: 'api.token' } as const;

/**
 * A node configuration with real key files in `dir`; `overrides` patch the input before validation.
 * The token key is a plain file under the development flag: these nodes hold test cards only.
 */
export async function nodeConfigIn(dir: string, overrides: Partial<NodeConfigInput> = {}): Promise<NodeConfig> {
  const centre = await generateSealKeyPair();
  writeFileSync(join(dir, 'token.key'), randomBytes(32).toString('base64'));
  writeFileSync(join(dir, 'centre.pub'), Buffer.from(centre.publicKey).toString('base64'));
  return parseNodeConfig(
    {
      nodeId: 'node-under-test',
      dataDir: join(dir, 'data'),
      keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true },
      log: { level: 'silent' },
      ...overrides,
    },
    dir,
  );
}

/** A new node's configuration as nodeConfigIn makes it, its journal made as `edgepay node init` does: ready to start. */
export async function newNodeConfigIn(dir: string, overrides: Partial<NodeConfigInput> = {}): Promise<NodeConfig> {
  const config = await nodeConfigIn(dir, overrides);
  initNode(config);
  return config;
}
