import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRemoteError } from '../src/actors/errors.js';
import { tokenizePan } from '../src/card/capture.js';
import { packNibbles } from '../src/reader/protocol/bcd.js';
import { Capability, ErrorCode, MessageType, keyFingerprint, readerKeyPairFromSeed } from '../src/reader/protocol/index.js';
import type { CollectedCard } from '../src/reader/reader-actor-protocol.js';
import { TEST_TOKEN_KEY } from './support/cards.js';
import { testCardKeys } from './support/card-keys.js';
import { type FrameRewrite, type LineRelay, startLineRelay } from './support/line-relay.js';
import { type ReaderActor, type SimulatorProcess, eventually, readerStatus, requireSocat, startPtyPair, startReaderActor, startSimulator, testProfile, waitForState } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

/*
 * Secure sessions (reader protocol 1.1) between a real reader actor and the real simulator
 * process, with a device on the line between them that records every byte and, for the attacks,
 * rewrites frames with valid CRCs, as a shim in the USB cable could.
 */

const tempDir = useTempDir('edgepay-secure-reader-');
const cleanups: (() => Promise<unknown>)[] = [];
const profile = testProfile();

beforeAll(() => requireSocat());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Line {
  readonly actor: ReaderActor;
  readonly relay: LineRelay;
  readonly sim: SimulatorProcess;
  /** The reader's public key, base64, when it was given keys. */
  readonly readerKey?: string;
  /** Starts the reader again (a reboot): a new HELLO, a new session. */
  restartReader(): Promise<SimulatorProcess>;
}

interface LineOptions {
  /** Give the reader keys for secure sessions. */
  readonly secureReader: boolean;
  /** What the lane pins: the reader's own key, another reader's, or nothing. */
  readonly pin: 'reader' | 'other' | 'none';
  readonly toNode?: FrameRewrite;
  readonly toReader?: FrameRewrite;
}

async function line(options: LineOptions): Promise<Line> {
  const nodePty = await startPtyPair(tempDir());
  cleanups.push(() => nodePty.kill());
  const readerPty = await startPtyPair(tempDir());
  cleanups.push(() => readerPty.kill());
  const relay = await startLineRelay({
    nodeSide: nodePty.readerPath,
    readerSide: readerPty.nodePath,
    profile,
    ...(options.toNode === undefined ? {} : { toNode: options.toNode }),
    ...(options.toReader === undefined ? {} : { toReader: options.toReader }),
  });
  cleanups.push(() => relay.close());
  const keys = await testCardKeys();
  const seed = randomBytes(32);
  const seedFile = join(tempDir(), 'reader.seed');
  writeFileSync(seedFile, seed.toString('base64'), { mode: 0o600 });
  const readerKey = Buffer.from(readerKeyPairFromSeed(seed).publicKey).toString('base64');
  const secureArgs = options.secureReader ? ['--reader-seed-file', seedFile, '--token-key-file', keys.files.tokenKeyFile, '--centre-key-file', keys.files.centrePublicKeyFile] : [];
  const startReader = (): SimulatorProcess => {
    const sim = startSimulator(['reader', 'simulate', '--port', readerPty.readerPath, '--profile', 'edgepay-sim', '--cards', 'good', '--seed', '7', ...secureArgs]);
    cleanups.push(() => sim.stop());
    return sim;
  };
  let sim = startReader();
  const pinned = options.pin === 'reader' ? readerKey : options.pin === 'other' ? Buffer.from(readerKeyPairFromSeed(randomBytes(32)).publicKey).toString('base64') : undefined;
  const actor = await startReaderActor(nodePty.nodePath, profile, 'lane-1', pinned);
  cleanups.push(() => actor.stop(2000));
  return {
    actor,
    relay,
    get sim() {
      return sim;
    },
    ...(options.secureReader ? { readerKey } : {}),
    restartReader: async () => {
      await sim.stop();
      sim = startReader();
      return sim;
    },
  };
}

function collect(actor: ReaderActor, txnId: number, amountMinor = 1250): Promise<CollectedCard> {
  return actor.request({ type: 'collect', txnId, amountMinor, currencyNumeric: 978, timeoutMs: 8_000 }, { timeoutMs: 12_000 }) as Promise<CollectedCard>;
}

/** The PAN as a skimmer would look for it: ASCII digits, or packed BCD as in tag 5A. */
function carriesPan(wire: Buffer, pan: string): boolean {
  return wire.includes(Buffer.from(pan, 'ascii')) || wire.includes(Buffer.from(packNibbles(pan)));
}

function remoteReason(error: unknown): unknown {
  return (error as { details?: { remoteDetails?: { reason?: unknown } } }).details?.remoteDetails?.reason;
}

describe('a secure session on a lane that pins its reader', () => {
  it('takes the card sealed and tokenized by the reader: the PAN crosses neither the line nor the node', async () => {
    const { actor, relay } = await line({ secureReader: true, pin: 'reader' });
    const status = await waitForState(actor, 'ready');
    expect(status.session).toBe('secure');

    const card = await collect(actor, 41);
    const { pan, expiryYymm } = (await testCardKeys()).reveal(card);
    expect(card.token).toBe(tokenizePan(pan, TEST_TOKEN_KEY));
    expect(card.last4).toBe(pan.slice(-4));
    expect(`${String(card.expiryYear).slice(2)}${String(card.expiryMonth).padStart(2, '0')}`).toBe(expiryYymm);
    expect(relay.fromReader().map((m) => m.kind)).toContain('SEALED_CARD');
    expect(relay.fromReader().map((m) => m.kind)).not.toContain('CARD_DATA');
    expect(carriesPan(relay.wire(), pan)).toBe(false);
    expect(JSON.stringify(card)).not.toContain(pan);
  });

  it('a reader rebooting mid-session is challenged again before its next card counts', async () => {
    const l = await line({ secureReader: true, pin: 'reader' });
    await waitForState(l.actor, 'ready');
    await collect(l.actor, 42);
    const challengesBefore = l.relay.fromReader().filter((m) => m.kind === 'AUTH_RESPONSE').length;
    await l.restartReader();
    await eventually(() => (l.relay.fromReader().filter((m) => m.kind === 'AUTH_RESPONSE').length > challengesBefore ? true : undefined), 5000, 'a new AUTH_RESPONSE');
    await waitForState(l.actor, 'ready');
    const card = await collect(l.actor, 43);
    expect(card.token).toBe(tokenizePan((await testCardKeys()).reveal(card).pan, TEST_TOKEN_KEY));
  });
});

describe('attacks on the card link', () => {
  it('a reader with another key is refused (ERROR 4) and no payment starts on it', async () => {
    const { actor, relay, readerKey } = await line({ secureReader: true, pin: 'other' });
    const status = await waitForState(actor, 'incompatible');
    expect(status.problem).toContain(`presents key ${keyFingerprint(Buffer.from(readerKey ?? '', 'base64'))}`);
    expect(status.problem).toMatch(/lane lane-1 pins key [0-9a-f]{16}/);
    const error = await collect(actor, 44).catch((e: unknown) => e);
    expect(isRemoteError(error, 'EDGEPAY_READER_INCOMPATIBLE')).toBe(true);
    await eventually(() => (relay.fromNode().some((m) => m.kind === 'ERROR' && m.code === ErrorCode.AUTHENTICATION_FAILED) ? true : undefined), 3000, 'ERROR 4 sent to the reader');
    expect(relay.fromReader().some((m) => m.kind === 'SEALED_CARD' || m.kind === 'CARD_DATA')).toBe(false);
  });

  it('a 1.0 reader (card data in clear) on a pinned lane is refused before any card is read', async () => {
    const { actor, relay } = await line({ secureReader: false, pin: 'reader' });
    const status = await waitForState(actor, 'incompatible');
    expect(status.problem).toContain('takes card data only in a secure session');
    const error = await collect(actor, 45).catch((e: unknown) => e);
    expect(isRemoteError(error, 'EDGEPAY_READER_INCOMPATIBLE')).toBe(true);
    expect(relay.fromReader().some((m) => m.kind === 'CARD_DATA')).toBe(false);
  });

  it('a downgrade (the secure bit stripped from the reader HELLO) fails closed at both ends', async () => {
    const stripSecure: FrameRewrite = (frame) => {
      if (frame.type !== MessageType.HELLO) return frame;
      const payload = frame.payload.slice();
      payload[1] = (payload[1] as number) & ~Capability.SECURE_SESSION;
      return { ...frame, payload };
    };
    // The pinned lane will not take a reader that does not authenticate.
    const pinned = await line({ secureReader: true, pin: 'reader', toNode: stripSecure });
    expect((await waitForState(pinned.actor, 'incompatible')).problem).toContain('does not offer one');

    // A lane that pins nothing takes it as a 1.0 reader, and the reader, unchallenged, reads no card at all.
    const open = await line({ secureReader: true, pin: 'none', toNode: stripSecure });
    expect((await waitForState(open.actor, 'ready')).session).toBe('clear');
    const error = await collect(open.actor, 46).catch((e: unknown) => e);
    expect(isRemoteError(error, 'EDGEPAY_READER_ERROR')).toBe(true);
    expect((error as { details: { remoteDetails: { readerCode: number } } }).details.remoteDetails.readerCode).toBe(ErrorCode.SECURE_SESSION_REQUIRED);
    expect(open.relay.fromReader().some((m) => m.kind === 'CARD_DATA' || m.kind === 'SEALED_CARD')).toBe(false);
  });

  it('sealed card data changed in flight (a valid CRC, a changed token) is refused and the reader told to cancel', async () => {
    const changeToken: FrameRewrite = (frame) => {
      if (frame.type !== MessageType.SEALED_CARD) return frame;
      const payload = frame.payload.slice();
      payload[4] = (payload[4] as number) ^ 0x01;
      return { ...frame, payload };
    };
    const { actor, relay } = await line({ secureReader: true, pin: 'reader', toNode: changeToken });
    await waitForState(actor, 'ready');
    const error = await collect(actor, 47).catch((e: unknown) => e);
    expect(isRemoteError(error, 'EDGEPAY_CARD_INVALID')).toBe(true);
    expect(remoteReason(error)).toBe('EDGEPAY_CARD_SIGNATURE_INVALID');
    await eventually(() => (relay.fromNode().some((m) => m.kind === 'CANCEL' && m.txnId === 47) ? true : undefined), 3000, 'CANCEL');
  });

  it('sealed card data replayed from an earlier session, for the same transaction number and amount, is refused', async () => {
    let recorded: Uint8Array | undefined;
    let replay = false;
    const recordThenReplay: FrameRewrite = (frame) => {
      if (frame.type !== MessageType.SEALED_CARD) return frame;
      if (!replay) {
        recorded = frame.payload;
        return frame;
      }
      return { ...frame, payload: recorded ?? frame.payload };
    };
    const l = await line({ secureReader: true, pin: 'reader', toNode: recordThenReplay });
    await waitForState(l.actor, 'ready');
    await collect(l.actor, 48);
    expect(recorded).toBeDefined();

    replay = true;
    const before = l.relay.fromReader().filter((m) => m.kind === 'AUTH_RESPONSE').length;
    await l.restartReader();
    await eventually(() => (l.relay.fromReader().filter((m) => m.kind === 'AUTH_RESPONSE').length > before ? true : undefined), 5000, 'the new session');
    await waitForState(l.actor, 'ready');
    const error = await collect(l.actor, 48).catch((e: unknown) => e);
    expect(isRemoteError(error, 'EDGEPAY_CARD_INVALID')).toBe(true);
    expect(remoteReason(error)).toBe('EDGEPAY_CARD_SIGNATURE_INVALID');
  });

  it('a lane that pins no key does not trust a secure reader on first use: it names the key to pin', async () => {
    const { actor, readerKey } = await line({ secureReader: true, pin: 'none' });
    const status = await waitForState(actor, 'incompatible');
    expect(status.problem).toContain(`key ${readerKey}`);
    expect(status.problem).toContain('pin it as lanes[].readerPublicKey');
    expect((await readerStatus(actor)).session).toBeUndefined();
  });
});
