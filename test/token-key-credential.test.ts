import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSealKeyPair, tokenizePan } from '../src/card/index.js';
import { type StoreNode, startStoreNode } from '../src/rigs/store/store-node.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { freePort } from '../src/platform/free-port.js';
import { SIM_HOT_PAN } from '../src/reader/simulator/cards.js';
import { CLI } from './support/cli.js';
import { useTempDir } from './support/tmp.js';

/*
 * `edgepay node seal-token-key` against the real systemd-creds: the key is written only sealed,
 * systemd (here `systemd-creds decrypt`, as LoadCredentialEncrypted= does at start) opens it into
 * an in-memory credentials directory, and a node reading credential:token.key takes a payment
 * whose token is the sealed key's.
 */

const tempDir = useTempDir();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

function seal(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = spawnSync(process.execPath, [CLI, 'node', 'seal-token-key', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    input: options.input ?? '',
    env: options.env ?? process.env,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What systemd does at start for LoadCredentialEncrypted=token.key:<file>: the key, opened into memory. */
function openCredential(file: string): { directory: string; key: Buffer } {
  const directory = mkdtempSync('/dev/shm/edgepay-test-credentials-');
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  const opened = spawnSync('systemd-creds', ['decrypt', '--name=token.key', file, join(directory, 'token.key')], { encoding: 'utf8' });
  expect(opened.status, opened.stderr).toBe(0);
  return { directory, key: Buffer.from(readFileSync(join(directory, 'token.key'), 'utf8').trim(), 'base64') };
}

describe('edgepay node seal-token-key', () => {
  it('writes a new key only sealed (0600), which opens on this machine, and a node reading it as credential:token.key takes a payment', async () => {
    const dir = tempDir();
    const out = join(dir, 'credstore.encrypted', 'edgepay-token.key');
    mkdirSync(join(dir, 'credstore.encrypted'));
    const sealed = seal(['--out', out, '--with-key', 'host']);
    expect(sealed.status, sealed.stderr).toBe(0);
    expect(sealed.stdout).toContain(`LoadCredentialEncrypted=token.key:${out}`);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const { directory, key } = openCredential(out);
    expect(key).toHaveLength(32);
    // Sealed means not there in clear: neither the base64 text the node reads nor the raw bytes.
    const file = readFileSync(out);
    expect(file.includes(Buffer.from(key.toString('base64')))).toBe(false);
    expect(file.includes(key)).toBe(false);

    const centre = await generateSealKeyPair();
    writeFileSync(join(dir, 'centre.pub'), Buffer.from(centre.publicKey).toString('base64'));
    const boxDir = join(dir, 'box-1');
    mkdirSync(boxDir);
    const node: StoreNode = await startStoreNode({
      id: 'box-1',
      dir: boxDir,
      seed: 1,
      // The `hot` card has a fixed PAN (no hot list here: it is approved), so its token can be checked.
      cards: 'hot',
      transport: 'unix',
      apiPort: await freePort(),
      statusPort: await freePort(),
      env: { CREDENTIALS_DIRECTORY: directory },
      config: { nodeId: 'box-1', dataDir: 'data', keys: { tokenKeyFile: 'credential:token.key', centrePublicKeyFile: join(dir, 'centre.pub') }, log: { level: 'warn' } },
    });
    cleanups.push(() => node.stop());
    const response = await fetch(`${node.apiUrl}/v1/payments`, {
      method: 'POST',
      headers: { ...node.apiHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ lane: 'lane-1', amountMinor: 1_250, currency: 'EUR', reference: 'r1', idempotencyKey: 'sealed-key-p1' }),
    });
    const payment = (await response.json()) as { status: string; card: Record<string, unknown> | null; journalSeq: number };
    expect(payment).toMatchObject({ status: 'approved', card: { last4: SIM_HOT_PAN.slice(-4) } });
    expect(Object.keys(payment.card!)).toEqual(['last4']);
    await node.stop();
    const journal = new JournalReader(node.journalPath, 'box-1');
    const [entry] = journal.read(payment.journalSeq, 1);
    journal.close();
    expect(entry).toMatchObject({ cardToken: tokenizePan(SIM_HOT_PAN, key), cardBin: '', cardLast4: SIM_HOT_PAN.slice(-4) });
  }, 60_000);

  it('seals the fleet key given on stdin, never replaces a sealed key, and says what is wrong without systemd-creds or a TPM2', () => {
    const dir = tempDir();
    const fleetKey = Buffer.alloc(32, 42);
    const out = join(dir, 'edgepay-token.key');
    const given = seal(['--out', out, '--with-key', 'host', '--stdin'], { input: `${fleetKey.toString('base64')}\n` });
    expect(given.status, given.stderr).toBe(0);
    expect(given.stdout).toContain('sealed the given token key');
    expect(openCredential(out).key.equals(fleetKey)).toBe(true);

    const again = seal(['--out', out, '--with-key', 'host']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/EDGEPAY_CREDENTIAL_EXISTS.*exists already.*never replaced/);
    expect(openCredential(out).key.equals(fleetKey)).toBe(true);

    const short = seal(['--out', join(dir, 'short.key'), '--stdin'], { input: 'c2hvcnQ=\n' });
    expect(short.status).toBe(2);
    expect(short.stderr).toMatch(/EDGEPAY_KEY_INVALID.*token key \(stdin\): expected 32 bytes/);

    const emptyPath = join(dir, 'empty-bin');
    mkdirSync(emptyPath);
    const missing = seal(['--out', join(dir, 'none.key')], { env: { ...process.env, PATH: emptyPath } });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/EDGEPAY_SYSTEMD_CREDS_MISSING.*systemd-creds is not installed/);

    const badChoice = seal(['--out', join(dir, 'x.key'), '--with-key', 'yubikey']);
    expect(badChoice.status).toBe(2);
    expect(badChoice.stderr).toMatch(/--with-key: must be one of auto, host, tpm2, host\+tpm2/);

    // No TPM2 in this machine (systemd-creds has-tpm2): sealing to it fails and leaves no file.
    const hasTpm2 = spawnSync('systemd-creds', ['has-tpm2']).status === 0;
    const tpm2 = seal(['--out', join(dir, 'tpm2.key'), '--with-key', 'tpm2']);
    if (hasTpm2) expect(tpm2.status, tpm2.stderr).toBe(0);
    else {
      expect(tpm2.status).toBe(3);
      expect(tpm2.stderr).toMatch(/EDGEPAY_CREDENTIAL_SEAL_FAILED.*systemd-creds encrypt exited/);
      expect(() => statSync(join(dir, 'tpm2.key'))).toThrow();
    }
  }, 60_000);
});
