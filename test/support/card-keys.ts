import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawCard } from '../../src/card/capture.js';
import type { CardFacts } from '../../src/card/index.js';
import { generateSealKeyPair, openSealed } from '../../src/card/seal.js';
import { TEST_TOKEN_KEY } from './cards.js';

/** Card keys on disk, as a node's configuration names them, plus the centre's secret half to check what was sealed. */
export interface TestCardKeys {
  readonly files: { readonly tokenKeyFile: string; readonly centrePublicKeyFile: string };
  /** What the centre reads from a captured card: the PAN and expiry sealed at capture. */
  reveal(card: CardFacts): RawCard;
}

let shared: Promise<TestCardKeys> | undefined;

/** One key set per test process (the token key is TEST_TOKEN_KEY), removed when the process exits. */
export function testCardKeys(): Promise<TestCardKeys> {
  shared ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgepay-test-keys-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const centre = await generateSealKeyPair();
    const files = { tokenKeyFile: join(dir, 'token.key'), centrePublicKeyFile: join(dir, 'centre.pub') };
    writeFileSync(files.tokenKeyFile, TEST_TOKEN_KEY.toString('base64'), { mode: 0o600 });
    writeFileSync(files.centrePublicKeyFile, Buffer.from(centre.publicKey).toString('base64'));
    return {
      files,
      reveal(card) {
        const opened = JSON.parse(Buffer.from(openSealed(card.sealed, centre.publicKey, centre.secretKey)).toString('utf8')) as { pan: string; expiry: string };
        return { pan: opened.pan, expiryYymm: opened.expiry };
      },
    };
  })();
  return shared;
}
