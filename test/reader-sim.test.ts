import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { luhnValid } from '../src/card/luhn.js';
import { type DataMessage, TxnEndReason } from '../src/reader/protocol/index.js';
import { SerialLink } from '../src/reader/serial-link.js';
import { CardFactory, SIM_CARD_KINDS, SIM_HOT_PAN, SIM_REGULAR_PANS, parseCardScript } from '../src/reader/simulator/cards.js';
import { closeQuietly, openSerialPort } from '../src/reader/simulator/serial-port.js';
import { eventually, requireSocat, startPtyPair, startSimulator, testProfile } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-reader-');
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('simulated cards', () => {
  const fixedNow = () => new Date(Date.UTC(2026, 5, 15));

  it('a script is a comma-separated list of known kinds; anything else is refused with the kinds listed', () => {
    expect(parseCardScript('good, expired,hot')).toEqual(['good', 'expired', 'hot']);
    for (const bad of ['', 'good,platinum', ',']) {
      expect(() => parseCardScript(bad)).toThrow(expect.objectContaining({ code: 'EDGEPAY_BAD_INPUT', message: expect.stringContaining(SIM_CARD_KINDS.join(', ')) }));
    }
  });

  it('each kind has the property its name promises, and a seed replays the same cards', () => {
    const factory = new CardFactory(42, fixedNow);
    const good = factory.card('good');
    expect(good && luhnValid(good.pan)).toBe(true);
    expect(good?.expiryYymm).toBe('2906');
    expect(factory.card('expired')?.expiryYymm).toBe('2506');
    expect(factory.card('hot')).toEqual({ pan: SIM_HOT_PAN, expiryYymm: '2906' });
    expect(luhnValid(SIM_HOT_PAN)).toBe(true);
    expect(luhnValid(factory.card('bad-luhn')?.pan ?? '')).toBe(false);
    expect(factory.card('no-card')).toBeUndefined();
    expect(factory.card('unplug')).toBeUndefined();
    expect(new CardFactory(42, fixedNow).card('good')).toEqual(good);
    expect(new CardFactory(43, fixedNow).card('good')?.pan).not.toBe(good?.pan);
  });

  it('regular cards come back: a few valid PANs shared by every reader, whatever its seed', () => {
    const seen = new Set<string>();
    for (const seed of [1, 2, 3]) {
      const factory = new CardFactory(seed, fixedNow);
      for (let i = 0; i < 40; i++) seen.add(factory.card('regular')?.pan ?? 'none');
    }
    expect([...seen].sort()).toEqual([...SIM_REGULAR_PANS].sort());
    for (const pan of SIM_REGULAR_PANS) expect(luhnValid(pan)).toBe(true);
  });
});

describe('edgepay reader simulate', () => {
  beforeAll(() => requireSocat());

  it('behaves as reader firmware: HELLO on connect and on request, STATUS, a card per START_TXN, TXN_ENDED; exits 0 on SIGTERM', async () => {
    const pty = await startPtyPair(tempDir());
    cleanups.push(() => pty.kill());
    const profile = testProfile();
    // The test is the node here, on the node's end of the line.
    const port = await openSerialPort(pty.nodePath, profile);
    cleanups.push(() => closeQuietly(port));
    const received: DataMessage[] = [];
    const link = new SerialLink(port, profile, { onMessage: (msg) => received.push(msg), onLinkDown: () => undefined });
    cleanups.push(async () => link.detach());
    const sim = startSimulator(['reader', 'simulate', '--port', pty.readerPath, '--profile', 'edgepay-sim', '--cards', 'good,no-card', '--seed', '1']);
    cleanups.push(() => sim.stop());
    const seen = (predicate: (msg: DataMessage) => boolean, what: string) => eventually(() => received.find(predicate), 3000, what);

    const hello = await seen((m) => m.kind === 'HELLO', 'HELLO on connect');
    expect(hello).toMatchObject({ protocolVersion: 1, capabilities: 7, maxPayload: 1024, model: 'edgepay-sim' });
    received.length = 0;
    await link.send({ kind: 'HELLO', protocolVersion: 1, capabilities: 0, maxPayload: 1024, model: 'test-node', firmwareVersion: '1' });
    await seen((m) => m.kind === 'HELLO', 'HELLO on request');
    await link.send({ kind: 'STATUS_REQUEST' });
    expect(await seen((m) => m.kind === 'STATUS', 'STATUS')).toMatchObject({ state: 0, flags: 0 });

    await link.send({ kind: 'START_TXN', txnId: 1, amountMinor: 1999n, currencyNumeric: 840, timeoutS: 30 });
    const card = await seen((m) => m.kind === 'CARD_DATA', 'CARD_DATA');
    expect(card).toMatchObject({ txnId: 1 });
    await link.send({ kind: 'STATUS_REQUEST' });
    expect(await seen((m) => m.kind === 'STATUS' && m.state === 2, 'STATUS reading')).toMatchObject({ flags: 1 });
    await link.send({ kind: 'SHOW_RESULT', txnId: 1, approved: true, code: 'Y1', text: 'APPROVED' });
    expect(await seen((m) => m.kind === 'TXN_ENDED' && m.txnId === 1, 'TXN_ENDED 1')).toMatchObject({ reason: TxnEndReason.RESULT_SHOWN });

    // The second card of the script never comes; CANCEL ends the wait.
    await link.send({ kind: 'START_TXN', txnId: 2, amountMinor: 500n, currencyNumeric: 840, timeoutS: 30 });
    await eventually(() => (sim.stderr().includes('txn 2: START_TXN') ? true : undefined), 3000, 'START_TXN 2 at the reader');
    await link.send({ kind: 'CANCEL', txnId: 2 });
    expect(await seen((m) => m.kind === 'TXN_ENDED' && m.txnId === 2, 'TXN_ENDED 2')).toMatchObject({ reason: TxnEndReason.CANCELLED_BY_NODE });
    expect(received.filter((m) => m.kind === 'CARD_DATA')).toHaveLength(1);

    expect(await sim.stop()).toBe(0);
    const log = sim.stderr();
    expect(log).toContain('SIGTERM: stopped');
    expect(
      log
        .trim()
        .split('\n')
        .every((line) => line.startsWith('reader-sim: ')),
    ).toBe(true);
  });

  it('refuses a bad script, a bad seed and an absent device with the reason', async () => {
    const dir = tempDir();
    const run = async (args: string[]) => {
      const sim = startSimulator(['reader', 'simulate', '--profile', 'edgepay-sim', ...args]);
      return { code: await sim.exited, stderr: sim.stderr() };
    };
    const [badCards, badSeed, absent] = await Promise.all([run(['--port', `${dir}/x`, '--cards', 'good,gold']), run(['--port', `${dir}/x`, '--seed', '-1']), run(['--port', `${dir}/absent`])]);
    expect(badCards.code).not.toBe(0);
    expect(badCards.stderr).toContain('must be a comma-separated list of good, regular, expired');
    expect(badSeed.code).not.toBe(0);
    expect(badSeed.stderr).toContain('--seed');
    expect(absent.code).not.toBe(0);
    expect(absent.stderr).toContain('EDGEPAY_READER_UNAVAILABLE');
  });
});
