import type { KeyObject } from 'node:crypto';
import {
  type AuthResponseMessage,
  Capability,
  ErrorCode,
  type HelloMessage,
  MIN_READER_MAX_PAYLOAD,
  PROTOCOL_VERSION,
  type SessionNonces,
  authSignedBytes,
  keyFingerprint,
  readerPublicKey,
  sameBytes,
  verifyReaderSignature,
} from './protocol/index.js';

/*
 * What the node makes of a reader's HELLO and of its AUTH_RESPONSE (PROTOCOL.md 4.3, 4.4), as pure
 * decisions: the connection does what they say (ERROR, challenge, lane state) and nothing else.
 */

/** The pinned reader key of a lane that requires secure sessions, in both forms the checks need. */
export interface PinnedReaderKey {
  readonly raw: Uint8Array;
  readonly key: KeyObject;
}

/** The reader cannot serve the lane: the ERROR code it is told, the problem the lane shows, details for the log. */
export interface Refusal {
  readonly kind: 'refuse';
  readonly code: number;
  readonly problem: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export type HelloDecision = Refusal | { readonly kind: 'ready-clear' } | { readonly kind: 'challenge' };
export type ResponseDecision = Refusal | { readonly kind: 'ready-secure'; readonly session: SessionNonces };

export function pinnedReaderKey(base64: string): PinnedReaderKey {
  const raw = new Uint8Array(Buffer.from(base64, 'base64'));
  return { raw, key: readerPublicKey(raw) };
}

/** The first row of PROTOCOL.md 4.3 that applies to this HELLO. */
export function decideHello(hello: HelloMessage, pinned: PinnedReaderKey | undefined, lane: string): HelloDecision {
  const who = `${hello.model} ${hello.firmwareVersion}`;
  if (hello.protocolVersion !== PROTOCOL_VERSION) {
    return refuse(ErrorCode.INCOMPATIBLE, `the reader announces protocol version ${hello.protocolVersion}; this node speaks version ${PROTOCOL_VERSION}`, { protocolVersion: hello.protocolVersion });
  }
  if (hello.maxPayload < MIN_READER_MAX_PAYLOAD) {
    return refuse(ErrorCode.INCOMPATIBLE, `the reader (${who}) announces maxPayload ${hello.maxPayload}; a reader must take at least ${MIN_READER_MAX_PAYLOAD} bytes`, { maxPayload: hello.maxPayload });
  }
  if ((hello.capabilities & Capability.SECURE_SESSION) !== 0) return { kind: 'challenge' };
  if (pinned !== undefined) {
    return refuse(ErrorCode.INCOMPATIBLE, `lane ${lane} pins a reader key and takes card data only in a secure session (protocol 1.1); the reader (${who}) does not offer one`, {});
  }
  return { kind: 'ready-clear' };
}

/** An AUTH_RESPONSE to the challenge with this nonce: a session only with the pinned key and a signature over both nonces. */
export function decideResponse(nodeNonce: Uint8Array, response: AuthResponseMessage, pinned: PinnedReaderKey | undefined, lane: string): ResponseDecision {
  const session: SessionNonces = { nodeNonce, readerNonce: response.readerNonce };
  const presented = keyFingerprint(response.readerKey);
  const signed = authSignedBytes(session, response.readerKey);
  if (pinned === undefined) {
    // Never trust on first use: the key is named so the installer can pin it, and nothing is taken from this reader meanwhile.
    const proven = verifyReaderSignature(readerPublicKey(response.readerKey), signed, response.signature);
    const base64 = Buffer.from(response.readerKey).toString('base64');
    return refuse(
      ErrorCode.INCOMPATIBLE,
      proven
        ? `the reader offers a secure session with key ${base64} (fingerprint ${presented}), and lane ${lane} pins no reader key: pin it as lanes[].readerPublicKey`
        : `the reader offers a secure session, and its AUTH_RESPONSE does not verify with the key it presents (fingerprint ${presented})`,
      { presentedKey: presented },
    );
  }
  const pinnedPrint = keyFingerprint(pinned.raw);
  if (!sameBytes(response.readerKey, pinned.raw)) {
    return refuse(ErrorCode.AUTHENTICATION_FAILED, `the reader presents key ${presented}, and lane ${lane} pins key ${pinnedPrint}`, { presentedKey: presented, pinnedKey: pinnedPrint });
  }
  if (!verifyReaderSignature(pinned.key, signed, response.signature)) {
    return refuse(ErrorCode.AUTHENTICATION_FAILED, `the reader's AUTH_RESPONSE signature does not verify with the pinned key ${presented}`, { presentedKey: presented });
  }
  return { kind: 'ready-secure', session };
}

function refuse(code: number, problem: string, details: Record<string, unknown>): Refusal {
  return { kind: 'refuse', code, problem, details };
}
