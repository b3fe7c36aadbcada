import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRemoteError } from '../src/actors/errors.js';
import type { CollectedCard } from '../src/reader/reader-actor-protocol.js';
import { type PtyPair, type ReaderActor, type SimulatorProcess, eventually, readerStatus, requireSocat, startPtyPair, startReaderActor, startSimulator, testProfile, waitForState } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

/*
 * Pulling the reader's cable in the middle of a payment: the waiting collect must fail at once
 * (the lane then tells the customer), and the actor must find the reader again by itself.
 */

const tempDir = useTempDir('edgepay-reader-');
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(() => requireSocat());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function simulator(pty: PtyPair, cards: string): SimulatorProcess {
  const sim = startSimulator(['reader', 'simulate', '--port', pty.readerPath, '--profile', 'edgepay-sim', '--cards', cards, '--seed', '7']);
  cleanups.push(() => sim.stop());
  return sim;
}

let nextTxnId = 500;

async function startCollect(actor: ReaderActor, sim: SimulatorProcess): Promise<{ outcome: Promise<string | CollectedCard> }> {
  const txnId = nextTxnId++;
  const request = actor.request({ type: 'collect', txnId, amountMinor: 990, currencyNumeric: 826, timeoutMs: 20_000 }, { timeoutMs: 25_000 }) as Promise<CollectedCard>;
  // Settled into a value at once, so a rejection while the test is busy elsewhere is never unhandled.
  const outcome = request.catch((error: unknown) => (isRemoteError(error) ? (error.remoteCode ?? 'no code') : Promise.reject(error)));
  await eventually(() => (sim.stderr().includes(`txn ${txnId}: START_TXN`) ? true : undefined), 3000, 'START_TXN at the reader');
  return { outcome };
}

async function collectGood(actor: ReaderActor): Promise<CollectedCard> {
  return (await actor.request({ type: 'collect', txnId: nextTxnId++, amountMinor: 990, currencyNumeric: 826, timeoutMs: 5000 }, { timeoutMs: 10_000 })) as CollectedCard;
}

describe('reader unplugged mid-transaction', () => {
  it('killing the line fails the collect at once with EDGEPAY_READER_LOST; plugged back, the actor reconnects by itself', async () => {
    const pty = await startPtyPair(tempDir());
    cleanups.push(() => pty.kill());
    const sim = simulator(pty, 'no-card');
    const actor = await startReaderActor(pty.nodePath, testProfile());
    cleanups.push(() => actor.stop(2000));
    await waitForState(actor, 'ready');
    const { outcome } = await startCollect(actor, sim);

    const pulled = Date.now();
    await pty.kill();
    expect(await outcome).toBe('EDGEPAY_READER_LOST');
    expect(Date.now() - pulled).toBeLessThan(1000);
    expect((await readerStatus(actor)).state).toBe('disconnected');
    // The simulated firmware loses its line too, and says so with its exit code.
    expect(await sim.exited).toBe(3);

    await pty.restart();
    simulator(pty, 'good');
    const status = await waitForState(actor, 'ready', 10_000);
    expect(status.connects).toBeGreaterThanOrEqual(2);
    expect((await collectGood(actor)).checkDigitValid).toBe(true);
  });

  it('the simulator vanishing on its own (the unplug card) is caught by the health poll', async () => {
    const pty = await startPtyPair(tempDir());
    cleanups.push(() => pty.kill());
    const sim = simulator(pty, 'unplug');
    const actor = await startReaderActor(pty.nodePath, testProfile({ healthPollMs: 300 }));
    cleanups.push(() => actor.stop(2000));
    await waitForState(actor, 'ready');
    const { outcome } = await startCollect(actor, sim);
    expect(await sim.exited).toBe(3);
    expect(sim.stderr()).toContain('unplug');
    const vanished = Date.now();
    // With the line itself still there, silence is the only sign: one poll plus the ACK budget (4 × 200 ms).
    expect(await outcome).toBe('EDGEPAY_READER_LOST');
    expect(Date.now() - vanished).toBeLessThan(3000);

    simulator(pty, 'good');
    await waitForState(actor, 'ready', 10_000);
    expect((await collectGood(actor)).checkDigitValid).toBe(true);
  });

  it('an absent device is a state, not a failed start: the actor waits for it to appear', async () => {
    const dir = tempDir();
    const actor = await startReaderActor(`${dir}/node`, testProfile());
    cleanups.push(() => actor.stop(2000));
    await waitForState(actor, 'disconnected');
    const refused = await actor.request({ type: 'collect', txnId: 1, amountMinor: 100, currencyNumeric: 978, timeoutMs: 1000 }).catch((error: unknown) => error);
    expect(isRemoteError(refused, 'EDGEPAY_READER_UNAVAILABLE')).toBe(true);

    const pty = await startPtyPair(dir);
    cleanups.push(() => pty.kill());
    simulator(pty, 'good');
    const status = await waitForState(actor, 'ready', 10_000);
    expect(status.model).toBe('edgepay-sim');
    expect(status.connects).toBeGreaterThanOrEqual(1);
  });
});
