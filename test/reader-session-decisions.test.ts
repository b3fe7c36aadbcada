import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AuthResponseMessage, ErrorCode, type HelloMessage, authSignedBytes, readerKeyPairFromSeed, signAsReader } from '../src/reader/protocol/index.js';
import { decideHello, decideResponse, pinnedReaderKey } from '../src/reader/session-decisions.js';

/* PROTOCOL.md 4.3 and 4.4, row by row, on the pure decisions the reader connection acts on. */

const keys = readerKeyPairFromSeed(randomBytes(32));
const pinned = pinnedReaderKey(Buffer.from(keys.publicKey).toString('base64'));
const other = readerKeyPairFromSeed(randomBytes(32));

function hello(fields: Partial<HelloMessage> = {}): HelloMessage {
  return { kind: 'HELLO', protocolVersion: 1, capabilities: 0x07, maxPayload: 1024, model: 'EP-R1', firmwareVersion: '2.0', ...fields };
}

function response(nodeNonce: Uint8Array, signer = keys, presented = signer.publicKey): AuthResponseMessage {
  const readerNonce = new Uint8Array(randomBytes(32));
  return { kind: 'AUTH_RESPONSE', readerKey: presented, readerNonce, signature: signAsReader(signer, authSignedBytes({ nodeNonce, readerNonce }, presented)) };
}

describe("what the node makes of a reader's HELLO", () => {
  it.each([
    ['another version', hello({ protocolVersion: 2 }), pinned, { kind: 'refuse', code: ErrorCode.INCOMPATIBLE, problem: expect.stringContaining('protocol version 2') }],
    ['a maxPayload below 130', hello({ maxPayload: 129 }), undefined, { kind: 'refuse', code: ErrorCode.INCOMPATIBLE, problem: expect.stringContaining('at least 130') }],
    ['a 1.0 reader on a lane that pins nothing', hello(), undefined, { kind: 'ready-clear' }],
    ['a 1.0 reader on a pinned lane', hello(), pinned, { kind: 'refuse', code: ErrorCode.INCOMPATIBLE, problem: expect.stringContaining('does not offer one') }],
    ['a secure reader on a pinned lane', hello({ capabilities: 0x0f }), pinned, { kind: 'challenge' }],
    ['a secure reader on a lane that pins nothing', hello({ capabilities: 0x08 }), undefined, { kind: 'challenge' }],
  ] as const)('%s', (_name, message, key, expected) => {
    expect(decideHello(message, key, 'lane-1')).toMatchObject(expected);
  });

  it('never makes a clear session on a pinned lane, whatever the HELLO says', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), (protocolVersion, capabilities, maxPayload) => {
        expect(decideHello(hello({ protocolVersion, capabilities, maxPayload }), pinned, 'lane-1').kind).not.toBe('ready-clear');
      }),
    );
  });
});

describe("what the node makes of a reader's AUTH_RESPONSE", () => {
  const nodeNonce = new Uint8Array(randomBytes(32));

  it('the pinned key, signing this challenge: a secure session with both nonces', () => {
    const answer = response(nodeNonce);
    expect(decideResponse(nodeNonce, answer, pinned, 'lane-1')).toEqual({ kind: 'ready-secure', session: { nodeNonce, readerNonce: answer.readerNonce } });
  });

  it('another key, even with a valid signature of its own: ERROR 4, both fingerprints named', () => {
    expect(decideResponse(nodeNonce, response(nodeNonce, other), pinned, 'lane-1')).toMatchObject({
      kind: 'refuse',
      code: ErrorCode.AUTHENTICATION_FAILED,
      details: { presentedKey: expect.any(String), pinnedKey: expect.any(String) },
    });
  });

  it('the pinned key presented but signed by another, or signed over another challenge: ERROR 4', () => {
    const forged = response(nodeNonce, other, keys.publicKey);
    expect(decideResponse(nodeNonce, forged, pinned, 'lane-1')).toMatchObject({ kind: 'refuse', code: ErrorCode.AUTHENTICATION_FAILED, problem: expect.stringContaining('does not verify') });
    const stale = response(new Uint8Array(randomBytes(32)));
    expect(decideResponse(nodeNonce, stale, pinned, 'lane-1')).toMatchObject({ kind: 'refuse', code: ErrorCode.AUTHENTICATION_FAILED });
  });

  it('on a lane that pins nothing: refused, naming the key only when the reader proved it holds it', () => {
    const proven = decideResponse(nodeNonce, response(nodeNonce), undefined, 'lane-1');
    expect(proven).toMatchObject({ kind: 'refuse', code: ErrorCode.INCOMPATIBLE, problem: expect.stringContaining(Buffer.from(keys.publicKey).toString('base64')) });
    const unproven = decideResponse(nodeNonce, response(nodeNonce, other, keys.publicKey), undefined, 'lane-1');
    expect(unproven).toMatchObject({ kind: 'refuse', code: ErrorCode.INCOMPATIBLE });
    expect(unproven.kind === 'refuse' && unproven.problem).not.toContain(Buffer.from(keys.publicKey).toString('base64'));
  });
});
