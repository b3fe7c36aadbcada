import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureCard, generateSealKeyPair, loadCardKeys, luhnValid, openSealed, tokenizePan, withLuhnDigit } from '../src/card/index.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();

describe('card capture', () => {
  it('keeps token and last 4 (no BIN), and seals PAN and expiry so only the centre can open them', async () => {
    const centre = await generateSealKeyPair();
    const keys = { tokenKey: Buffer.alloc(32, 1), centrePublicKey: centre.publicKey };
    const pan = '4111111111111111';
    const facts = await captureCard({ pan, expiryYymm: '2712' }, keys);
    expect(facts).toMatchObject({ last4: '1111', expiryYear: 2027, expiryMonth: 12, checkDigitValid: true });
    expect(facts.token).toBe(tokenizePan(pan, keys.tokenKey));
    // With the BIN beside token and last 4, the token key would rebuild the PAN from six digits.
    expect(Object.keys(facts).sort()).toEqual(['checkDigitValid', 'expiryMonth', 'expiryYear', 'last4', 'sealed', 'token']);
    expect(JSON.stringify({ ...facts, sealed: Buffer.from(facts.sealed).toString('latin1') })).not.toContain(pan);
    const opened = JSON.parse(Buffer.from(openSealed(facts.sealed, centre.publicKey, centre.secretKey)).toString('utf8'));
    expect(opened).toEqual({ pan, expiry: '2712' });
    const other = await generateSealKeyPair();
    expect(() => openSealed(facts.sealed, other.publicKey, other.secretKey)).toThrow();
  });

  it('gives one card one token under one key, and unrelated tokens under another key', () => {
    const pan = '5100000000000008';
    expect(tokenizePan(pan, Buffer.alloc(32, 1))).toBe(tokenizePan(pan, Buffer.alloc(32, 1)));
    expect(tokenizePan(pan, Buffer.alloc(32, 2))).not.toBe(tokenizePan(pan, Buffer.alloc(32, 1)));
  });

  it('reports a failed check digit as a fact for the rules, not as an error', async () => {
    const centre = await generateSealKeyPair();
    const facts = await captureCard({ pan: '4111111111111112', expiryYymm: '2712' }, { tokenKey: Buffer.alloc(32), centrePublicKey: centre.publicKey });
    expect(facts.checkDigitValid).toBe(false);
  });

  it.each([
    [{ pan: '4111 1111 1111 1111', expiryYymm: '2712' }, 'card.pan'],
    [{ pan: '41111', expiryYymm: '2712' }, 'card.pan'],
    [{ pan: '4111111111111111', expiryYymm: '2713' }, 'card.expiryYymm'],
    [{ pan: '4111111111111111', expiryYymm: '12/27' }, 'card.expiryYymm'],
  ])('refuses malformed card data %j naming the field, without echoing the PAN', async (raw, field) => {
    const centre = await generateSealKeyPair();
    const error = await captureCard(raw, { tokenKey: Buffer.alloc(32), centrePublicKey: centre.publicKey }).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'EDGEPAY_CARD_INVALID', message: expect.stringContaining(field) });
    expect((error as Error).message).not.toContain('4111111111111111');
  });

  it('Luhn: every generated number passes, and changing any one digit makes it fail', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{11,18}$/), fc.nat(), fc.integer({ min: 1, max: 9 }), (partial, at, delta) => {
        const pan = withLuhnDigit(partial);
        expect(luhnValid(pan)).toBe(true);
        const i = at % pan.length;
        const changed = `${pan.slice(0, i)}${(Number(pan[i]) + delta) % 10}${pan.slice(i + 1)}`;
        expect(luhnValid(changed)).toBe(false);
      }),
    );
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('4111-1111')).toBe(false);
  });

  it('loads key files and names the file and the size problem when a key is wrong', async () => {
    const dir = tempDir();
    const centre = await generateSealKeyPair();
    writeFileSync(join(dir, 'token.key'), `${Buffer.alloc(32, 9).toString('base64')}\n`);
    writeFileSync(join(dir, 'centre.pub'), Buffer.from(centre.publicKey).toString('base64'));
    writeFileSync(join(dir, 'short.key'), Buffer.alloc(16).toString('base64'));
    const keys = loadCardKeys({ tokenKeyFile: join(dir, 'token.key'), centrePublicKeyFile: join(dir, 'centre.pub') });
    expect(keys.tokenKey.equals(Buffer.alloc(32, 9))).toBe(true);
    expect(() => loadCardKeys({ tokenKeyFile: join(dir, 'short.key'), centrePublicKeyFile: join(dir, 'centre.pub') })).toThrow(
      expect.objectContaining({ code: 'EDGEPAY_KEY_INVALID', message: expect.stringMatching(/short\.key.*expected 32 bytes.*16 bytes/) }),
    );
    expect(() => loadCardKeys({ tokenKeyFile: join(dir, 'missing.key'), centrePublicKeyFile: join(dir, 'centre.pub') })).toThrow(
      expect.objectContaining({ code: 'EDGEPAY_KEY_INVALID', message: expect.stringContaining('missing.key') }),
    );
  });
});
