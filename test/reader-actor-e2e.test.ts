import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRemoteError } from '../src/actors/errors.js';
import { tokenizePan } from '../src/card/capture.js';
import { luhnValid } from '../src/card/luhn.js';
import type { CollectedCard } from '../src/reader/reader-actor-protocol.js';
import { SIM_HOT_PAN } from '../src/reader/simulator/cards.js';
import { type ReaderActor, eventually, readerStatus, requireSocat, startPtyPair, startReaderActor, startSimulator, testProfile, waitForState } from './support/pty.js';
import { testCardKeys } from './support/card-keys.js';
import { TEST_TOKEN_KEY } from './support/cards.js';
import { useTempDir } from './support/tmp.js';

/*
 * The simulated reader and the node's reader actor over a real serial line (a socat pty pair):
 * every byte goes through the kernel's tty layer, the serialport binding and the protocol codec.
 */

const tempDir = useTempDir('edgepay-reader-');
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(() => requireSocat());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rig(cards: string) {
  const pty = await startPtyPair(tempDir());
  cleanups.push(() => pty.kill());
  const sim = startSimulator(['reader', 'simulate', '--port', pty.readerPath, '--profile', 'edgepay-sim', '--cards', cards, '--seed', '42']);
  cleanups.push(() => sim.stop());
  const actor = await startReaderActor(pty.nodePath, testProfile());
  cleanups.push(() => actor.stop(2000));
  await waitForState(actor, 'ready');
  return { sim, actor };
}

const EUR = 978;
let nextTxnId = 100;

function collect(actor: ReaderActor, timeoutMs = 5000): { txnId: number; card: Promise<CollectedCard> } {
  const txnId = nextTxnId++;
  const card = actor.request({ type: 'collect', txnId, amountMinor: 1250, currencyNumeric: EUR, timeoutMs }, { timeoutMs: timeoutMs + 5000 }) as Promise<CollectedCard>;
  return { txnId, card };
}

async function remoteCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (isRemoteError(error)) return error.remoteCode;
    throw error;
  }
  throw new Error('expected a rejection');
}

function thisYymm(): string {
  const now = new Date();
  return `${String(now.getUTCFullYear() % 100).padStart(2, '0')}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

describe('simulated reader ↔ reader actor over a pty', () => {
  it('shakes hands: ready, with the model and firmware the reader announced', async () => {
    const { actor } = await rig('good');
    const status = await readerStatus(actor);
    expect(status).toMatchObject({ lane: 'lane-1', state: 'ready', model: 'edgepay-sim', firmwareVersion: 'sim-1.0', connects: 1 });
    expect(status.lastSeenMs).toBeGreaterThan(Date.now() - 10_000);
  });

  it('collects a good card already captured (token, last 4, PAN and expiry sealed; no BIN), shows the result, and the reader ends the transaction', async () => {
    const { sim, actor } = await rig('good');
    const { txnId, card } = collect(actor);
    const captured = await card;
    // The PAN never leaves the reader actor's thread in clear: only the facts of capture cross.
    expect(Object.keys(captured).sort()).toEqual(['checkDigitValid', 'expiryMonth', 'expiryYear', 'last4', 'sealed', 'token']);
    const read = (await testCardKeys()).reveal(captured);
    expect(luhnValid(read.pan)).toBe(true);
    expect(captured).toMatchObject({ token: tokenizePan(read.pan, TEST_TOKEN_KEY), last4: read.pan.slice(-4), checkDigitValid: true });
    expect(read.expiryYymm > thisYymm()).toBe(true);
    expect(`${String(captured.expiryYear % 100).padStart(2, '0')}${String(captured.expiryMonth).padStart(2, '0')}`).toBe(read.expiryYymm);
    expect((await readerStatus(actor)).state).toBe('in_transaction');
    await expect(actor.request({ type: 'show', txnId, approved: true, code: 'Y3', text: 'APPROVED' })).resolves.toEqual({ ok: true });
    await waitForState(actor, 'ready');
    await eventually(() => (sim.stderr().includes(`txn ${txnId}: ended (result shown)`) ? true : undefined), 5000, 'TXN_ENDED(5) from the reader');
    expect(sim.stderr()).toContain('showing APPROVED (Y3)');
    // The simulator's status lines never carry card data.
    expect(sim.stderr()).not.toContain(read.pan);
  });

  it('reads expired, hot and bad-Luhn cards as they are: judging them is the rules’ job', async () => {
    const { actor } = await rig('expired,hot,bad-luhn');
    const results: CollectedCard[] = [];
    for (let i = 0; i < 3; i++) {
      const { txnId, card } = collect(actor);
      results.push(await card);
      await actor.request({ type: 'show', txnId, approved: false, code: 'N1', text: 'DECLINED' });
    }
    const [expired, hot, badLuhn] = results as [CollectedCard, CollectedCard, CollectedCard];
    const keys = await testCardKeys();
    expect(keys.reveal(expired).expiryYymm < thisYymm()).toBe(true);
    expect(keys.reveal(hot).pan).toBe(SIM_HOT_PAN);
    expect(hot).toMatchObject({ token: tokenizePan(SIM_HOT_PAN, TEST_TOKEN_KEY), checkDigitValid: true });
    expect(badLuhn.checkDigitValid).toBe(false);
    expect(luhnValid(keys.reveal(badLuhn).pan)).toBe(false);
  });

  it('a CARD_DATA frame with a bad CRC is NAKed, resent, and the card still arrives', async () => {
    const { sim, actor } = await rig('bad-crc');
    const { txnId, card } = collect(actor);
    expect((await card).checkDigitValid).toBe(true);
    // The simulator's lines travel through a pipe: they may arrive a moment after the card.
    await eventually(() => (sim.stderr().includes(`txn ${txnId}: CARD_DATA acknowledged after 1 retransmission(s)`) ? true : undefined), 2000, 'the ACK of the resent frame');
    const log = sim.stderr();
    expect(log).toContain('CARD_DATA written with a corrupted CRC');
    expect(log).toMatch(/NAK received for SEQ \d+ \(reason 1\)/);
  });

  it('waits for a slow card', async () => {
    const { actor } = await rig('slow');
    const started = Date.now();
    const read = await collect(actor).card;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(read.checkDigitValid).toBe(true);
  });

  it('no card before the timeout: EDGEPAY_READER_TIMEOUT, and the reader is told to cancel', async () => {
    const { sim, actor } = await rig('no-card');
    const { txnId, card } = collect(actor, 600);
    expect(await remoteCode(card)).toBe('EDGEPAY_READER_TIMEOUT');
    await eventually(() => (sim.stderr().includes(`txn ${txnId}: ended (cancelled by the node)`) ? true : undefined), 3000, 'TXN_ENDED(1) after CANCEL');
    await waitForState(actor, 'ready');
  });

  it('cancel ends a waiting collect with EDGEPAY_READER_CANCELLED; a second collect meanwhile is BUSY', async () => {
    const { sim, actor } = await rig('no-card');
    const first = collect(actor, 20_000);
    const firstOutcome = remoteCode(first.card);
    await waitForState(actor, 'in_transaction');
    await eventually(() => (sim.stderr().includes(`txn ${first.txnId}: START_TXN`) ? true : undefined), 3000, 'START_TXN at the reader');
    expect(await remoteCode(collect(actor).card)).toBe('EDGEPAY_READER_BUSY');
    await expect(actor.request({ type: 'cancel', txnId: first.txnId })).resolves.toEqual({ ok: true });
    expect(await firstOutcome).toBe('EDGEPAY_READER_CANCELLED');
    await eventually(() => (sim.stderr().includes(`txn ${first.txnId}: ended (cancelled by the node)`) ? true : undefined), 3000, 'TXN_ENDED(1)');
    await waitForState(actor, 'ready');
  });
});
