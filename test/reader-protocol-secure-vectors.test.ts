/**
 * The secure session's vectors (vectors.json `secure`, PROTOCOL.md 8): the signed bytes, the
 * signatures, the token and the sealed box, built by the vector generator with libsodium, must be
 * what the node's code (node:crypto) builds and accepts. The C reader is held to the same file.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tokenizePan } from '../src/card/capture.js';
import { luhnValid } from '../src/card/luhn.js';
import { openSealed, sodiumReady } from '../src/card/seal.js';
import { authSignedBytes, decodeMessage, MessageType, readerKeyPairFromSeed, readerPublicKey, sealedCardSignedBytes, sealedCardSignedPart, signAsReader, verifyReaderSignature } from '../src/reader/protocol/index.js';

interface SecureVectors {
  readerSeedHex: string;
  readerPublicKeyHex: string;
  tokenKeyHex: string;
  centreSecretKeyHex: string;
  centrePublicKeyHex: string;
  sessionNodeNonceHex: string;
  sessionReaderNonceHex: string;
  auth: { name: string; nodeNonceHex: string; readerNonceHex: string; signedHex: string; signatureHex: string; payloadHex: string }[];
  cards: {
    name: string;
    txnId: number;
    pan: string;
    expiryYymm: string;
    tokenHex: string;
    last4: string;
    flags: number;
    sealedPlain: string;
    sealedHex: string;
    tlvHex: string;
    signedPartHex: string;
    signedHex: string;
    signatureHex: string;
    payloadHex: string;
  }[];
}

const { secure } = JSON.parse(readFileSync(new URL('../firmware-bridge/vectors.json', import.meta.url), 'utf8')) as { secure: SecureVectors };
const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

const keys = readerKeyPairFromSeed(fromHex(secure.readerSeedHex));
const pinned = readerPublicKey(fromHex(secure.readerPublicKeyHex));
const session = { nodeNonce: fromHex(secure.sessionNodeNonceHex), readerNonce: fromHex(secure.sessionReaderNonceHex) };

describe('secure vectors: reader authentication', () => {
  it('derives the vectors public key from the seed, as libsodium does', () => {
    expect(toHex(keys.publicKey)).toBe(secure.readerPublicKeyHex);
  });

  it.each(secure.auth)('$name: the signed bytes, the signature and the AUTH_RESPONSE payload', (vector) => {
    const nonces = { nodeNonce: fromHex(vector.nodeNonceHex), readerNonce: fromHex(vector.readerNonceHex) };
    const signed = authSignedBytes(nonces, keys.publicKey);
    expect(toHex(signed)).toBe(vector.signedHex);
    expect(toHex(signAsReader(keys, signed))).toBe(vector.signatureHex);
    expect(verifyReaderSignature(pinned, signed, fromHex(vector.signatureHex))).toBe(true);
    const response = decodeMessage(MessageType.AUTH_RESPONSE, fromHex(vector.payloadHex));
    expect(response.kind === 'AUTH_RESPONSE' && toHex(response.readerKey)).toBe(secure.readerPublicKeyHex);
  });

  it('a response signed for one challenge does not verify for another', () => {
    const [first, second] = secure.auth;
    if (first === undefined || second === undefined) throw new Error('two auth vectors expected');
    const otherChallenge = authSignedBytes({ nodeNonce: fromHex(second.nodeNonceHex), readerNonce: fromHex(first.readerNonceHex) }, keys.publicKey);
    expect(verifyReaderSignature(pinned, otherChallenge, fromHex(first.signatureHex))).toBe(false);
  });
});

describe('secure vectors: sealed card data', () => {
  it.each(secure.cards)('$name: token, Luhn flag, signed part, signature', (vector) => {
    expect(tokenizePan(vector.pan, Buffer.from(secure.tokenKeyHex, 'hex'))).toBe(Buffer.from(vector.tokenHex, 'hex').toString('base64url'));
    expect(vector.flags & 1).toBe(luhnValid(vector.pan) ? 1 : 0);
    const part = sealedCardSignedPart({ txnId: vector.txnId, token: fromHex(vector.tokenHex), last4: vector.last4, flags: vector.flags, sealed: fromHex(vector.sealedHex), tlv: fromHex(vector.tlvHex) });
    expect(toHex(part)).toBe(vector.signedPartHex);
    const signed = sealedCardSignedBytes(session, part);
    expect(toHex(signed)).toBe(vector.signedHex);
    expect(toHex(signAsReader(keys, signed))).toBe(vector.signatureHex);
    expect(verifyReaderSignature(pinned, signed, fromHex(vector.signatureHex))).toBe(true);
  });

  it.each(secure.cards)('$name: the sealed box opens with the centre key to the PAN and expiry', async (vector) => {
    await sodiumReady();
    const plain = openSealed(fromHex(vector.sealedHex), fromHex(secure.centrePublicKeyHex), fromHex(secure.centreSecretKeyHex));
    expect(Buffer.from(plain).toString('utf8')).toBe(vector.sealedPlain);
    expect(JSON.parse(vector.sealedPlain)).toEqual({ pan: vector.pan, expiry: vector.expiryYymm });
  });

  it('any changed byte of the signed part fails the signature', () => {
    const vector = secure.cards[0];
    if (vector === undefined) throw new Error('a card vector expected');
    const part = fromHex(vector.signedPartHex);
    for (const at of [0, 4, 36, 40, 41, part.length - 1]) {
      const changed = part.slice();
      changed[at] = (changed[at] as number) ^ 0x01;
      expect(verifyReaderSignature(pinned, sealedCardSignedBytes(session, changed), fromHex(vector.signatureHex)), `byte ${at}`).toBe(false);
    }
  });

  it('the PAN appears nowhere in the SEALED_CARD payload', () => {
    for (const vector of secure.cards) {
      const payload = Buffer.from(vector.payloadHex, 'hex');
      expect(payload.includes(Buffer.from(vector.pan, 'ascii'))).toBe(false);
      expect(payload.toString('hex').includes(vector.pan)).toBe(false);
    }
  });
});
