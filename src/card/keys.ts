import { readFileSync } from 'node:fs';
import { EdgepayError } from '../errors.js';

/**
 * The node's card keys: a secret HMAC key for tokens (shared by the store's peers so one card has one
 * token everywhere) and the centre's X25519 public key for sealing. The centre's secret key never
 * reaches a node.
 */
export interface CardKeys {
  readonly tokenKey: Buffer;
  readonly centrePublicKey: Uint8Array;
}

export const TOKEN_KEY_BYTES = 32;
export const SEAL_PUBLIC_KEY_BYTES = 32;

/** Key files hold base64 text (one line), so they can be made with `openssl rand -base64 32`. */
export function decodeKey(text: string, expectedBytes: number, what: string): Buffer {
  const trimmed = text.trim();
  const bytes = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || bytes.length !== expectedBytes) {
    throw new EdgepayError('EDGEPAY_KEY_INVALID', `${what}: expected ${expectedBytes} bytes as base64, got ${trimmed.length} characters decoding to ${bytes.length} bytes`, {
      what,
      expectedBytes,
      actualBytes: bytes.length,
    });
  }
  return bytes;
}

export function loadCardKeys(paths: { tokenKeyFile: string; centrePublicKeyFile: string }): CardKeys {
  const read = (file: string, what: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (cause) {
      throw new EdgepayError('EDGEPAY_KEY_INVALID', `${what}: cannot read ${file}: ${(cause as Error).message}`, { file }, { cause });
    }
  };
  return {
    tokenKey: decodeKey(read(paths.tokenKeyFile, 'token key'), TOKEN_KEY_BYTES, `token key (${paths.tokenKeyFile})`),
    centrePublicKey: decodeKey(read(paths.centrePublicKeyFile, 'centre public key'), SEAL_PUBLIC_KEY_BYTES, `centre public key (${paths.centrePublicKeyFile})`),
  };
}
