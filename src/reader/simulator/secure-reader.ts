import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tokenizePan } from '../../card/capture.js';
import { SEAL_PUBLIC_KEY_BYTES, TOKEN_KEY_BYTES, decodeKey } from '../../card/keys.js';
import { luhnValid } from '../../card/luhn.js';
import { sealTo, sodiumReady } from '../../card/seal.js';
import { EdgepayError } from '../../errors.js';
import {
  type AuthChallengeMessage,
  type AuthResponseMessage,
  type ReaderKeyPair,
  SEALED_CARD_FLAG_LUHN_VALID,
  type SealedCardMessage,
  SecureSizes,
  type SessionNonces,
  authSignedBytes,
  readerKeyPairFromSeed,
  sealedCardSignedBytes,
  sealedCardSignedPart,
  signAsReader,
} from '../protocol/index.js';

/** What a reader is provisioned with for secure sessions (PROTOCOL.md 8): none of it leaves the reader. */
export interface ReaderSecrets {
  /** The reader's Ed25519 seed; the lane pins the public key derived from it. */
  readonly seed: Uint8Array;
  /** The store's token key: the reader computes the token the node would have. */
  readonly tokenKey: Buffer;
  /** The centre's X25519 key: card data is sealed to it. */
  readonly centrePublicKey: Uint8Array;
}

export interface ReaderSecretFiles {
  readonly seedFile: string;
  readonly tokenKeyFile: string;
  readonly centreKeyFile: string;
}

export const READER_SEED_BYTES = 32;
/** txnId, token, last4, flags, the two u16 lengths and the signature. */
const SEALED_CARD_FIXED_BYTES = 4 + SecureSizes.TOKEN + SecureSizes.LAST4 + 1 + 2 + 2 + SecureSizes.SIGNATURE;
/** libsodium's sealed box: the ephemeral public key and the MAC. */
const SEAL_OVERHEAD_BYTES = 48;

/** What the centre opens (PROTOCOL.md 8.4): exactly this JSON, keys in this order, no spaces. */
function sealedPlain(card: { readonly pan: string; readonly expiryYymm: string }): string {
  return JSON.stringify({ pan: card.pan, expiry: card.expiryYymm });
}

/** Each file holds base64 of its raw key on one line, as the node's own key files do. */
export function loadReaderSecrets(files: ReaderSecretFiles): ReaderSecrets {
  const read = (file: string, bytes: number, what: string): Buffer => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new EdgepayError('EDGEPAY_KEY_INVALID', `${what}: cannot read ${file}: ${(cause as Error).message}`, { file, what }, { cause });
    }
    return decodeKey(text, bytes, `${what} (${file})`);
  };
  return {
    seed: new Uint8Array(read(files.seedFile, READER_SEED_BYTES, 'reader seed')),
    tokenKey: read(files.tokenKeyFile, TOKEN_KEY_BYTES, 'token key'),
    centrePublicKey: new Uint8Array(read(files.centreKeyFile, SEAL_PUBLIC_KEY_BYTES, 'centre public key')),
  };
}

/**
 * The reader's half of a secure session: answers the node's challenge, then tokenizes, seals and
 * signs each card so the PAN never leaves it. A session lasts until the next HELLO exchange.
 */
export class ReaderSecureSession {
  private readonly keys: ReaderKeyPair;
  private nonces: SessionNonces | undefined;

  constructor(
    private readonly secrets: ReaderSecrets,
    /** Fresh nonces; a deterministic simulation passes its own source. */
    private readonly random: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(randomBytes(bytes)),
  ) {
    this.keys = readerKeyPairFromSeed(secrets.seed);
  }

  get publicKey(): Uint8Array {
    return this.keys.publicKey;
  }

  get authenticated(): boolean {
    return this.nonces !== undefined;
  }

  /** A HELLO exchange ends the session: whatever comes next must be challenged again. */
  reset(): void {
    this.nonces = undefined;
  }

  answer(challenge: AuthChallengeMessage): AuthResponseMessage {
    const nonces = { nodeNonce: challenge.nodeNonce, readerNonce: this.random(SecureSizes.NONCE) };
    this.nonces = nonces;
    const signature = signAsReader(this.keys, authSignedBytes(nonces, this.keys.publicKey));
    return { kind: 'AUTH_RESPONSE', readerKey: this.keys.publicKey, readerNonce: nonces.readerNonce, signature };
  }

  /** SEALED_CARD's bytes around its TLV for this card: the fixed fields, the sealed box and the signature (PROTOCOL.md 5.2). */
  sealedCardOverhead(card: { readonly pan: string; readonly expiryYymm: string }): number {
    return SEALED_CARD_FIXED_BYTES + SEAL_OVERHEAD_BYTES + Buffer.byteLength(sealedPlain(card));
  }

  /** The card as SEALED_CARD: token, last four, Luhn flag, the sealed PAN and expiry, the TLV (no clear tags), signed. */
  async seal(txnId: number, card: { readonly pan: string; readonly expiryYymm: string }, tlv: Uint8Array): Promise<SealedCardMessage> {
    const nonces = this.nonces;
    if (nonces === undefined) throw new EdgepayError('EDGEPAY_READER_UNAVAILABLE', 'no authenticated session to seal card data in', { txnId });
    await sodiumReady();
    const body = {
      txnId,
      token: new Uint8Array(Buffer.from(tokenizePan(card.pan, this.secrets.tokenKey), 'base64url')),
      last4: card.pan.slice(-4),
      flags: luhnValid(card.pan) ? SEALED_CARD_FLAG_LUHN_VALID : 0,
      sealed: sealTo(this.secrets.centrePublicKey, Buffer.from(sealedPlain(card), 'utf8')),
      tlv,
    };
    const signature = signAsReader(this.keys, sealedCardSignedBytes(nonces, sealedCardSignedPart(body)));
    return { kind: 'SEALED_CARD', ...body, signature };
  }
}
