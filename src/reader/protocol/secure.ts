/**
 * The secure session's signatures (PROTOCOL.md 8): what a reader signs, byte for byte, and the
 * Ed25519 keys in the raw 32-byte form firmware keeps (libsodium's seed and public key). node:crypto
 * does the signing and checking natively; the raw forms are wrapped in their fixed DER prefixes.
 */
import { type KeyObject, createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { ProtocolError } from './errors.js';
import { SecureSizes } from './message-types.js';

const AUTH_CONTEXT = new TextEncoder().encode('EDGEPAY-READER-AUTH-1');
const SEALED_CARD_CONTEXT = new TextEncoder().encode('EDGEPAY-SEALED-CARD-1');

/** PKCS8 and SPKI headers of an Ed25519 key (RFC 8410): a 32-byte seed or public key follows. */
const PKCS8_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PUBLIC_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * EMV tags that carry the PAN, track data or the cardholder's name: never in a secure session's
 * TLV (PAN 5A, track 1 56, track 2 57, name 5F20, track 1 and 2 discretionary 9F1F and 9F20,
 * contactless track 2 9F6B).
 */
export const CLEAR_CARD_TAGS = ['5A', '56', '57', '5F20', '9F1F', '9F20', '9F6B'] as const;

/** The negotiated session both signatures are bound to: fresh nonces from both ends per HELLO. */
export interface SessionNonces {
  readonly nodeNonce: Uint8Array;
  readonly readerNonce: Uint8Array;
}

export function authSignedBytes(session: SessionNonces, readerKey: Uint8Array): Uint8Array {
  return concat(AUTH_CONTEXT, session.nodeNonce, session.readerNonce, readerKey);
}

export function sealedCardSignedBytes(session: SessionNonces, signedPart: Uint8Array): Uint8Array {
  return concat(SEALED_CARD_CONTEXT, session.nodeNonce, session.readerNonce, signedPart);
}

export interface ReaderKeyPair {
  readonly privateKey: KeyObject;
  /** Raw 32 bytes, as the reader sends it in AUTH_RESPONSE and a lane pins it. */
  readonly publicKey: Uint8Array;
}

/** The pair a reader derives from its 32-byte seed, as libsodium's crypto_sign_seed_keypair does. */
export function readerKeyPairFromSeed(seed: Uint8Array): ReaderKeyPair {
  if (seed.length !== 32) throw keyError('reader seed', seed.length);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey: new Uint8Array(spki.subarray(SPKI_PUBLIC_PREFIX.length)) };
}

export function readerPublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== SecureSizes.PUBLIC_KEY) throw keyError('reader public key', raw.length);
  return createPublicKey({ key: Buffer.concat([SPKI_PUBLIC_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function signAsReader(keys: ReaderKeyPair, bytes: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, bytes, keys.privateKey));
}

export function verifyReaderSignature(key: KeyObject, bytes: Uint8Array, signature: Uint8Array): boolean {
  return signature.length === SecureSizes.SIGNATURE && verify(null, bytes, key, signature);
}

/** A short, stable name for a reader key in logs and errors: its first 16 hex digits of SHA-256. */
export function keyFingerprint(raw: Uint8Array): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/** Bytes equal in constant time for equal lengths (keys are public, but the habit costs nothing). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function keyError(what: string, length: number): ProtocolError {
  return new ProtocolError('EDGEPAY_MESSAGE_INVALID', `${what}: must be 32 bytes, got ${length}`, { what, sizeBytes: length });
}
