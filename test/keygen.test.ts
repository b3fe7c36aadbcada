import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSealed, sealTo, sodiumReady } from '../src/card/seal.js';
import { readApiToken } from '../src/api/api-token.js';
import { loadCardKeys } from '../src/card/keys.js';
import { runCli } from './support/cli.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-keygen-');
const mode = (file: string): number => statSync(file).mode & 0o777;

describe('edgepay keygen', () => {
  it.each([
    ['node-signing', 'signing.key', 'signing.pub'],
    ['centre-signing', 'centre-signing.key', 'centre-signing.pub'],
    ['rules', 'rules.key', 'rules.pub'],
  ])('%s: an Ed25519 pair, private 0600 in a 0700 directory, public 0644, whose halves match', (kind, keyName, pubName) => {
    const dir = join(tempDir(), 'new', 'keys');
    const result = runCli(['keygen', kind, '--out', dir]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`${kind}: wrote ${join(dir, keyName)} and ${join(dir, pubName)}`);
    expect(result.stdout.split('\n').filter((line) => line.startsWith('  ')).length).toBe(2);
    expect(mode(join(dir, keyName))).toBe(0o600);
    expect(mode(join(dir, pubName))).toBe(0o644);
    expect(mode(dir)).toBe(0o700);
    const privateKey = createPrivateKey(readFileSync(join(dir, keyName), 'utf8'));
    expect(privateKey.asymmetricKeyType).toBe('ed25519');
    const message = Buffer.from('batch');
    expect(verify(null, message, createPublicKey(readFileSync(join(dir, pubName), 'utf8')), sign(null, message, privateKey))).toBe(true);
  });

  it("reader-signing: a reader's seed 0600 and its public key 0644, raw base64 as firmware keeps them; node.yaml's readerPublicKey is printed", () => {
    const dir = tempDir();
    const result = runCli(['keygen', 'reader-signing', '--out', dir]);
    expect(result.status).toBe(0);
    expect(mode(join(dir, 'reader.seed'))).toBe(0o600);
    expect(mode(join(dir, 'reader.pub'))).toBe(0o644);
    const seed = Buffer.from(readFileSync(join(dir, 'reader.seed'), 'utf8').trim(), 'base64');
    const publicText = readFileSync(join(dir, 'reader.pub'), 'utf8').trim();
    expect(seed.length).toBe(32);
    expect(Buffer.from(publicText, 'base64').length).toBe(32);
    expect(result.stdout).toContain(`readerPublicKey: ${publicText}`);
    // The seed is the one the pinned key belongs to: a signature made from it verifies with the public file.
    const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicText, 'base64')]), format: 'der', type: 'spki' });
    expect(verify(null, Buffer.from('challenge'), publicKey, sign(null, Buffer.from('challenge'), privateKey))).toBe(true);
    expect(runCli(['keygen', 'reader-signing', '--out', dir]).status).not.toBe(0);
  });

  it("card-seal: the centre's X25519 pair; a node reads the public half as keys.centrePublicKeyFile and what it seals opens with the private half", async () => {
    const dir = tempDir();
    const result = runCli(['keygen', 'card-seal', '--out', dir]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/card-seal\.pub: copy it to every node as its keys\.centrePublicKeyFile/);
    expect(mode(join(dir, 'card-seal.key'))).toBe(0o600);
    writeFileSync(join(dir, 'token.key'), `${Buffer.alloc(32, 7).toString('base64')}\n`);
    const keys = loadCardKeys({ tokenKeyFile: join(dir, 'token.key'), centrePublicKeyFile: join(dir, 'card-seal.pub') });
    await sodiumReady();
    const secretKey = Buffer.from(readFileSync(join(dir, 'card-seal.key'), 'utf8').trim(), 'base64');
    const sealed = sealTo(keys.centrePublicKey, Buffer.from('4111111111111111'));
    expect(Buffer.from(openSealed(sealed, keys.centrePublicKey, secretKey)).toString()).toBe('4111111111111111');
  });

  it('api-token: one 0600 file the node accepts as its POS API token, in a directory it makes 0700', () => {
    const file = join(tempDir(), 'secrets', 'api.token');
    const result = runCli(['keygen', 'api-token', '--out', file]);
    expect(result.status).toBe(0);
    expect(mode(file)).toBe(0o600);
    expect(readApiToken(file).length).toBeGreaterThanOrEqual(32);
  });

  it('never replaces a key, of any kind (exit 1), and leaves the files as they were', () => {
    const dir = tempDir();
    for (const kind of ['node-signing', 'centre-signing', 'card-seal', 'rules']) {
      expect(runCli(['keygen', kind, '--out', dir]).status).toBe(0);
    }
    expect(runCli(['keygen', 'api-token', '--out', join(dir, 'api.token')]).status).toBe(0);
    const before = new Map(['signing.key', 'centre-signing.key', 'card-seal.key', 'rules.key', 'api.token'].map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    for (const [kind, out] of [
      ['node-signing', dir],
      ['centre-signing', dir],
      ['card-seal', dir],
      ['rules', dir],
      ['api-token', join(dir, 'api.token')],
    ] as const) {
      const again = runCli(['keygen', kind, '--out', out]);
      expect(again.status, kind).toBe(1);
      expect(again.stderr).toMatch(new RegExp(`EDGEPAY_CREDENTIAL_EXISTS: .* already exists?; edgepay keygen ${kind} never replaces a key`));
    }
    for (const [file, text] of before) expect(readFileSync(join(dir, file), 'utf8')).toBe(text);
  });

  it('a public half alone blocks a pair too, and no private half is left behind', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'signing.pub'), 'old\n');
    expect(runCli(['keygen', 'node-signing', '--out', dir]).status).toBe(1);
    expect(existsSync(join(dir, 'signing.key'))).toBe(false);
  });

  it('token-key: delegates to seal-token-key, the key written only sealed', () => {
    const file = join(tempDir(), 'credstore.encrypted', 'edgepay-token.key');
    const result = runCli(['keygen', 'token-key', '--out', file, '--with-key', 'host']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`LoadCredentialEncrypted=token.key:${file}`);
    expect(mode(file)).toBe(0o600);
    // Sealed: not the 44 characters of a base64 key in clear.
    expect(readFileSync(file, 'utf8').trim()).not.toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(runCli(['keygen', 'token-key', '--out', file, '--with-key', 'host']).status).toBe(1);
  });

  it('refuses an unknown kind with the list of kinds (exit 2)', () => {
    const result = runCli(['keygen', 'ssh', '--out', tempDir()]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('node-signing, centre-signing, card-seal, rules, reader-signing, api-token, token-key');
  });
});
