import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tokenizePan } from '../src/card/capture.js';
import { loadRules } from '../src/node/rules-source.js';
import { SIM_HOT_PAN } from '../src/reader/simulator/cards.js';
import { CENTRE_USER, provisionStore } from '../src/rigs/store/provision.js';
import { useTempDir } from './support/tmp.js';

/*
 * The store every whole-store rig starts from (demo, chaos, the two-broker store): what the node
 * reads of it must parse with the node's own loaders, and what is secret must stay private.
 */

const tempDir = useTempDir('edgepay-rig-store-');
const limits = { currency: 'EUR', floorLimitMinor: 10_000, perCard: { maxCount: 3, maxAmountMinor: 20_000 }, node: { maxStoredCount: 200, maxStoredAmountMinor: 900_000 } };

describe('a provisioned store', () => {
  it("writes rules the node loads, with the limits asked for and the simulator's stolen card hot-listed under the store's token key", async () => {
    const dir = tempDir();
    const tokenKey = Buffer.alloc(32, 7);
    const store = await provisionStore(dir, { fleet: 'f', store: 's', boxes: ['box-1', 'box-2'], limits, tokenKey });
    try {
      const rules = loadRules(store.rulesFile);
      expect(rules.currencies.EUR).toMatchObject({ floorLimitMinor: 10_000 });
      expect(rules.perCard).toMatchObject({ maxCount: 3, maxAmountMinor: { EUR: 20_000 } });
      expect(rules.node).toMatchObject({ maxStoredCount: 200, maxStoredAmountMinor: { EUR: 900_000 } });
      expect(store.hotToken).toBe(tokenizePan(SIM_HOT_PAN, tokenKey));
      expect(rules.hotCards.tokens).toContain(store.hotToken);
    } finally {
      store.remove();
    }
  });

  it('gives each box a private password file and a signing key, the centre a password, and the token key only in memory', async () => {
    const dir = tempDir();
    const store = await provisionStore(dir, { fleet: 'f', store: 's', boxes: ['box-1', 'box-2'], limits });
    const credentialsDir = store.credentials.env.CREDENTIALS_DIRECTORY;
    try {
      expect(Object.keys(store.passwords).sort()).toEqual(['box-1', 'box-2', CENTRE_USER].sort());
      for (const box of store.boxes) {
        expect(readFileSync(store.passwordFile(box), 'utf8')).toBe(`${store.passwords[box]}\n`);
        expect(statSync(store.passwordFile(box)).mode & 0o077).toBe(0);
      }
      expect(new Set(Object.values(store.passwords)).size).toBe(3);
      expect(store.keys.map((k) => k.nodeId)).toEqual(['box-1', 'box-2']);
      expect(readFileSync(`${credentialsDir}/token.key`, 'utf8')).toBe(store.tokenKey.toString('base64'));
      expect(credentialsDir.startsWith(dir)).toBe(false);
    } finally {
      store.remove();
    }
    expect(existsSync(credentialsDir)).toBe(false);
  });
});
