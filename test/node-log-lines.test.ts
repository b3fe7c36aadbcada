import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSealKeyPair } from '../src/card/index.js';
import { type StoreNode, startStoreNode } from '../src/rigs/store/store-node.js';
import { freePort } from '../src/platform/free-port.js';
import { tidyFields } from '../src/platform/process-logger.js';
import { SIM_HOT_PAN } from '../src/reader/simulator/cards.js';
import { peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import { useTempDir } from './support/tmp.js';

/*
 * What a real `edgepay node run` writes on stdout, line by line: one line per decision with no
 * card data, no key twice in one line (JSON.parse would keep the last copy without a word, so
 * each raw line is scanned), and no stack trace below error level.
 */

const tempDir = useTempDir('edgepay-log-lines-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Keys that occur more than once in one object of a raw JSON line, with their path. */
function duplicateKeys(line: string): string[] {
  const found: string[] = [];
  const stack: { keys: Set<string>; array: boolean }[] = [];
  let i = 0;
  let expectKey = false;
  while (i < line.length) {
    const c = line[i]!;
    if (c === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      const text = line.slice(i + 1, j);
      const top = stack[stack.length - 1];
      if (expectKey && top !== undefined && !top.array) {
        if (top.keys.has(text)) found.push(text);
        top.keys.add(text);
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === '{') {
      stack.push({ keys: new Set(), array: false });
      expectKey = true;
    } else if (c === '[') stack.push({ keys: new Set(), array: true });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') expectKey = stack[stack.length - 1]?.array === false;
    i++;
  }
  return found;
}

describe("the node's log lines", () => {
  it('the duplicate-key scan finds what JSON.parse hides', () => {
    expect(duplicateKeys('{"a":1,"b":{"a":2,"c":[{"a":1},{"a":2}]},"a":3}')).toEqual(['a']);
    expect(duplicateKeys('{"msg":"a \\"quoted\\" \\"msg\\"","x":{"msg":1}}')).toEqual([]);
    expect(JSON.parse('{"a":1,"a":2}')).toEqual({ a: 2 });
  });

  it("a field a binding carries already is written once; a different value is kept apart; a warning's error has no stack", () => {
    const error = Object.assign(new Error('broker gone', { cause: Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED' }) }), { code: 'EDGEPAY_CENTRE_UNAVAILABLE' });
    expect(tidyFields({ actor: 'uplink', nodeId: 'box-1', err: error }, { actor: 'uplink', nodeId: 'box-1' }, 40)).toEqual({
      err: { type: 'Error', message: 'broker gone', code: 'EDGEPAY_CENTRE_UNAVAILABLE', cause: { type: 'Error', message: 'ECONNREFUSED', code: 'ECONNREFUSED' } },
    });
    expect(tidyFields({ actor: 'replicator' }, { actor: 'uplink' }, 30)).toEqual({ shadowed: { actor: 'replicator' } });
    // At error and at debug the error goes whole, stack and all.
    expect(tidyFields({ err: error }, {}, 50).err).toBe(error);
    expect(tidyFields({ err: error }, {}, 20).err).toBe(error);
  });

  it('a real node process: a line per decision without card data, no key twice in a line, no stack below error', async () => {
    const dir = tempDir();
    const centre = await generateSealKeyPair();
    writeFileSync(join(dir, 'centre.pub'), Buffer.from(centre.publicKey).toString('base64'));
    const keys = provisionNodeKeys(join(dir, 'keys'), ['box-1', 'box-2']);
    const boxDir = join(dir, 'box-1');
    mkdirSync(boxDir);
    writeFileSync(join(boxDir, 'box-1.pw'), 'pw\n');
    writeFileSync(join(boxDir, 'token.key'), randomBytes(32).toString('base64'));
    // A broker that is not there: the replicator and the uplink warn, with their errors, as the link flaps.
    const deadBroker = `mqtt://127.0.0.1:${await freePort()}`;
    const node: StoreNode = await startStoreNode({
      id: 'box-1',
      dir: boxDir,
      seed: 1,
      cards: 'hot',
      transport: 'unix',
      keepStdout: true,
      apiPort: await freePort(),
      statusPort: await freePort(),
      config: {
        nodeId: 'box-1',
        dataDir: 'data',
        keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: join(dir, 'centre.pub'), plainTokenKeyFileForDevelopment: true },
        log: { level: 'info' },
        replication: { fleet: 'f', store: 's', brokerUrl: deadBroker, username: 'box-1', passwordFile: 'box-1.pw', signingKeyFile: keys[0]!.signingKeyFile, peers: peersOf('box-1', keys) },
        centre: { store: 's', intervalMs: 200, answerTimeoutMs: 500, signingPublicKeyFile: keys[0]!.publicKeyFile },
      },
    });
    cleanups.push(() => node.stop());
    for (let n = 0; n < 3; n++) {
      const response = await fetch(`${node.apiUrl}/v1/payments`, {
        method: 'POST',
        headers: { ...node.apiHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ lane: 'lane-1', amountMinor: 1_250 + n, currency: 'EUR', reference: `r${n}`, idempotencyKey: `log-key-${n}` }),
      });
      expect(response.status).toBe(201);
      await expect
        .poll(async () => ((await (await fetch(`${node.apiUrl}/v1/payments/${((await response.clone().json()) as { id: string }).id}`, { headers: node.apiHeaders })).json()) as { status: string }).status, {
          timeout: 10_000,
        })
        .toMatch(/approved|declined/);
    }
    // Long enough for several forwarding rounds and reconnects to warn.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await node.stop();

    const lines = readFileSync(join(boxDir, 'node.stdout'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'));
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of lines) expect(duplicateKeys(line), line).toEqual([]);
    const decisions = records.filter((r) => r.msg === 'decision');
    expect(decisions.map((d) => d.idempotencyKey)).toEqual(['log-key-0', 'log-key-1', 'log-key-2']);
    for (const d of decisions) {
      expect(d).toMatchObject({ level: 30, nodeId: 'box-1', lane: 'lane-1', currency: 'EUR', mode: 'offline', approved: true, code: expect.any(String) });
      expect(typeof d.latencyMs).toBe('number');
    }
    // No card data anywhere: not the PAN, not its last four digits, not a token field.
    const text = lines.join('\n');
    expect(text).not.toContain(SIM_HOT_PAN);
    // The last four as a value of their own: digits inside a longer number (a timing such as
    // 0.313713000000007) are not card data.
    expect(text).not.toMatch(new RegExp(`(?<![0-9.])${SIM_HOT_PAN.slice(-4)}(?![0-9])`));
    expect(text).not.toMatch(/"(cardToken|token|last4|cardLast4|pan)":/);
    const warnings = records.filter((r) => r.level === 40 && r.err !== undefined);
    expect(warnings.length).toBeGreaterThan(0);
    for (const w of records.filter((r) => (r.level as number) < 50)) expect(JSON.stringify(w)).not.toContain('"stack"');
  }, 60_000);
});
