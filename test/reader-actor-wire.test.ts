import fc from 'fast-check';
import type { SerialPort } from 'serialport';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRemoteError } from '../src/actors/errors.js';
import { withLuhnDigit } from '../src/card/luhn.js';
import { type DataMessage, type DecoderEvent, FrameDecoder, MessageType, encodeFrame, encodeMessage, emvForCard, encodeTlv } from '../src/reader/protocol/index.js';
import type { CollectedCard } from '../src/reader/reader-actor-protocol.js';
import { truncateUtf8 } from '../src/reader/reader-transactions.js';
import { SerialLink } from '../src/reader/serial-link.js';
import { closeQuietly, openSerialPort } from '../src/reader/simulator/serial-port.js';
import { type ReaderActor, eventually, readerStatus, requireSocat, sleep, startPtyPair, startReaderActor, testProfile, waitForState } from './support/pty.js';
import { testCardKeys } from './support/card-keys.js';
import { useTempDir } from './support/tmp.js';

/*
 * The test plays the reader on the pty, byte by byte, to put damaged frames on the wire: the node
 * must NAK them and never take a card from one.
 */

const tempDir = useTempDir('edgepay-reader-');
const cleanups: (() => Promise<unknown>)[] = [];
const profile = testProfile();
const GENUINE_PAN = withLuhnDigit('411111222233334');
const EVIL_PAN = withLuhnDigit('550000999988887');
const EXPIRY = '3012';

beforeAll(() => requireSocat());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface FakeReader {
  readonly port: SerialPort;
  readonly link: SerialLink;
  readonly received: DataMessage[];
  /** NAK frames the node sent, with their reason byte. */
  naks(): number[];
  writeRaw(bytes: Uint8Array): void;
}

async function rig(protocolVersion = 1): Promise<{ reader: FakeReader; actor: ReaderActor }> {
  const pty = await startPtyPair(tempDir());
  cleanups.push(() => pty.kill());
  const port = await openSerialPort(pty.readerPath, profile);
  cleanups.push(() => closeQuietly(port));
  const fromNode: DecoderEvent[] = [];
  const tap = new FrameDecoder();
  port.on('data', (chunk: Buffer) => fromNode.push(...tap.push(chunk)));
  const received: DataMessage[] = [];
  // The transaction this reader runs, for its STATUS answers: waiting for a card (1) from START_TXN to CANCEL or SHOW_RESULT.
  let running: number | undefined;
  const link: SerialLink = new SerialLink(port, profile, {
    onMessage: (msg) => {
      received.push(msg);
      if (msg.kind === 'HELLO') void link.send({ kind: 'HELLO', protocolVersion, capabilities: 7, maxPayload: 1024, model: 'test-reader', firmwareVersion: 't1' }).catch(() => undefined);
      if (msg.kind === 'START_TXN') running = msg.txnId;
      if ((msg.kind === 'CANCEL' || msg.kind === 'SHOW_RESULT') && msg.txnId === running) running = undefined;
      if (msg.kind === 'STATUS_REQUEST') void link.send({ kind: 'STATUS', state: running === undefined ? 0 : 1, flags: 0 }).catch(() => undefined);
    },
    onLinkDown: () => undefined,
  });
  cleanups.push(async () => link.detach());
  const reader: FakeReader = {
    port,
    link,
    received,
    naks: () => fromNode.flatMap((e) => (e.kind === 'frame' && e.type === MessageType.NAK ? [e.payload[0] ?? 0] : [])),
    writeRaw: (bytes) => void port.write(Buffer.from(bytes)),
  };
  const actor = await startReaderActor(pty.nodePath, profile);
  cleanups.push(() => actor.stop(2000));
  return { reader, actor };
}

function cardData(txnId: number, pan: string, amountMinor = 4200, currencyNumeric = 978): DataMessage {
  return { kind: 'CARD_DATA', txnId, tlv: encodeTlv(emvForCard({ pan, expiryYymm: EXPIRY, amountMinor, currencyNumeric })) };
}

/** The wire bytes of a message as a frame with the given SEQ. */
function frameOf(msg: DataMessage, seq: number): Uint8Array {
  const { type, payload } = encodeMessage(msg);
  return encodeFrame(seq, type, payload);
}

async function startCollect(actor: ReaderActor, reader: FakeReader, txnId: number) {
  let settled = false;
  const card = (actor.request({ type: 'collect', txnId, amountMinor: 4200, currencyNumeric: 978, timeoutMs: 15_000 }, { timeoutMs: 20_000 }) as Promise<CollectedCard>).finally(() => {
    settled = true;
  });
  card.catch(() => undefined);
  await eventually(() => (reader.received.some((m) => m.kind === 'START_TXN' && m.txnId === txnId) ? true : undefined), 3000, 'START_TXN');
  return { card, settled: () => settled };
}

describe('damaged frames on the serial line', () => {
  it('a flipped payload bit and a bad end byte are NAKed, garbage and an oversize header are not (no SEQ to name); the card comes only from the intact frame', async () => {
    const { reader, actor } = await rig();
    await waitForState(actor, 'ready');
    const { card, settled } = await startCollect(actor, reader, 31);

    const evil = frameOf(cardData(31, EVIL_PAN), 200);
    const flipped = evil.slice();
    flipped[20] = (flipped[20] as number) ^ 0x10;
    const badEnd = evil.slice();
    badEnd[badEnd.length - 1] = 0x04;
    reader.writeRaw(new TextEncoder().encode('line noise while booting \xff\x00'));
    reader.writeRaw(Uint8Array.of(0x02, 0xff, 0xff));
    reader.writeRaw(flipped);
    await eventually(() => (reader.naks().length >= 1 ? true : undefined), 3000, 'the NAK of the flipped frame');
    // Past the node's NAK hold (ackMs, 200 ms): the next damaged frame gets its own NAK.
    await sleep(300);
    reader.writeRaw(badEnd);
    await eventually(() => (reader.naks().length >= 2 ? true : undefined), 3000, 'the NAK of the bad end byte');
    expect(reader.naks()).toEqual([1, 2]);
    await sleep(100);
    expect(settled()).toBe(false);
    expect((await readerStatus(actor)).state).toBe('in_transaction');

    await reader.link.send(cardData(31, GENUINE_PAN));
    expect((await testCardKeys()).reveal(await card)).toEqual({ pan: GENUINE_PAN, expiryYymm: EXPIRY });
  });

  it('single bit flips anywhere in a CARD_DATA frame never yield a card', async () => {
    const { reader, actor } = await rig();
    await waitForState(actor, 'ready');
    const { card, settled } = await startCollect(actor, reader, 32);

    const evil = frameOf(cardData(32, EVIL_PAN), 201);
    // Every header byte, plus a fixed-seed sample of the rest: reproducible, and wide.
    const headerFlips = [0, 1, 2, 3, 4].map((at) => ({ at, bit: 0 }));
    const sampled = fc.sample(fc.record({ at: fc.integer({ min: 5, max: evil.length - 1 }), bit: fc.integer({ min: 0, max: 7 }) }), { seed: 20_251_127, numRuns: 40 });
    for (const { at, bit } of [...headerFlips, ...sampled]) {
      const damaged = evil.slice();
      damaged[at] = (damaged[at] as number) ^ (1 << bit);
      reader.writeRaw(damaged);
    }
    // A flipped LEN can make the decoder wait for a longer frame: enough STX-free bytes complete and reject it.
    reader.writeRaw(new Uint8Array(1100).fill(0x55));

    await eventually(() => (reader.naks().length >= 1 ? true : undefined), 5000, 'a NAK for the damaged frames');
    // One NAK per ackMs, however many frames were damaged; a frame the node acknowledges after them
    // shows it has read every damaged byte before it.
    await reader.link.send({ kind: 'STATUS', state: 1, flags: 0 });
    expect(settled()).toBe(false);

    await reader.link.send(cardData(32, GENUINE_PAN));
    expect((await testCardKeys()).reveal(await card)).toEqual({ pan: GENUINE_PAN, expiryYymm: EXPIRY });
  });

  it('card data for another amount is refused as EDGEPAY_CARD_INVALID and the reader is told to cancel', async () => {
    const { reader, actor } = await rig();
    await waitForState(actor, 'ready');
    const { card } = await startCollect(actor, reader, 33);
    await reader.link.send(cardData(33, GENUINE_PAN, 9999));
    const error = await card.catch((e: unknown) => e);
    expect(isRemoteError(error, 'EDGEPAY_CARD_INVALID')).toBe(true);
    expect((error as { details: { remoteDetails: { reason: string } } }).details.remoteDetails.reason).toBe('EDGEPAY_CARD_DATA_MISMATCH');
    expect(JSON.stringify(error)).not.toContain(GENUINE_PAN);
    await eventually(() => (reader.received.some((m) => m.kind === 'CANCEL' && m.txnId === 33) ? true : undefined), 3000, 'CANCEL');
  });

  it('card data of another transaction is acknowledged and ignored', async () => {
    const { reader, actor } = await rig();
    await waitForState(actor, 'ready');
    const { card, settled } = await startCollect(actor, reader, 34);
    await reader.link.send(cardData(99, EVIL_PAN));
    await sleep(100);
    expect(settled()).toBe(false);
    await reader.link.send(cardData(34, GENUINE_PAN));
    const captured = await card;
    expect((await testCardKeys()).reveal(captured).pan).toBe(GENUINE_PAN);
    expect(captured.last4).toBe(GENUINE_PAN.slice(-4));
  });

  it('a reader announcing another protocol version is incompatible: ERROR 1, and collect refuses', async () => {
    const { reader, actor } = await rig(2);
    await waitForState(actor, 'incompatible');
    await eventually(() => (reader.received.some((m) => m.kind === 'ERROR' && m.code === 1) ? true : undefined), 3000, 'ERROR 1');
    const error = await actor.request({ type: 'collect', txnId: 35, amountMinor: 100, currencyNumeric: 978, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(isRemoteError(error, 'EDGEPAY_READER_INCOMPATIBLE')).toBe(true);
  });
});

describe('a reader that gives up on its transaction ends the payment at once, and the lane says so', () => {
  const remoteDetails = (error: unknown) => (error as { details: { remoteDetails: Record<string, unknown> } }).details.remoteDetails;

  it("ERROR during the card wait: the payment ends with the reader's code, long before the card timeout", async () => {
    const { reader, actor } = await rig();
    await waitForState(actor, 'ready');
    const { card } = await startCollect(actor, reader, 41);
    const started = Date.now();
    await reader.link.send({ kind: 'ERROR', code: 3, text: 'busy' });
    const error = await card.catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(isRemoteError(error, 'EDGEPAY_READER_ERROR')).toBe(true);
    expect(remoteDetails(error)).toMatchObject({ readerCode: 3, readerText: 'busy', txnId: 41 });
    expect((await readerStatus(actor)).state).toBe('ready');
  });

  it('HELLO again mid-transaction (the reader rebooted): the payment ends as restarted and the reader is ready for the next', async () => {
    const { reader, actor } = await rig();
    await waitForState(actor, 'ready');
    // Past the handshake's answer window (4 × 200 ms of ACK budget + 500 ms), when a HELLO can only be the reader starting again.
    await sleep(1_500);
    const { card } = await startCollect(actor, reader, 42);
    await reader.link.send({ kind: 'HELLO', protocolVersion: 1, capabilities: 7, maxPayload: 1024, model: 'test-reader', firmwareVersion: 't1' });
    const error = await card.catch((e: unknown) => e);
    expect(isRemoteError(error, 'EDGEPAY_READER_RESTARTED')).toBe(true);
    expect(remoteDetails(error)).toMatchObject({ readerSaid: 'hello', txnId: 42 });
    expect((await readerStatus(actor)).state).toBe('ready');
    const next = await startCollect(actor, reader, 43);
    await reader.link.send(cardData(43, GENUINE_PAN));
    expect((await next.card).last4).toBe(GENUINE_PAN.slice(-4));
  });

  it('STATUS idle after START_TXN was acknowledged: the payment ends as restarted', async () => {
    const { reader, actor } = await rig();
    await waitForState(actor, 'ready');
    const { card } = await startCollect(actor, reader, 44);
    await reader.link.send({ kind: 'STATUS', state: 0, flags: 0 });
    const error = await card.catch((e: unknown) => e);
    expect(isRemoteError(error, 'EDGEPAY_READER_RESTARTED')).toBe(true);
    expect(remoteDetails(error)).toMatchObject({ readerSaid: 'idle' });
  });

  it('a CANCEL the reader acknowledges and never answers leaves the lane ready, not in a transaction of nobody', async () => {
    const { reader, actor } = await rig();
    await waitForState(actor, 'ready');
    const { card } = await startCollect(actor, reader, 45);
    await actor.request({ type: 'cancel', txnId: 45 });
    expect(isRemoteError(await card.catch((e: unknown) => e), 'EDGEPAY_READER_CANCELLED')).toBe(true);
    expect(reader.received.some((m) => m.kind === 'CANCEL' && m.txnId === 45)).toBe(true);
    // No TXN_ENDED comes: the node still owes the reader nothing.
    expect((await readerStatus(actor)).state).toBe('ready');
  });
});

describe('result text for the display', () => {
  it('is cut to 64 bytes of UTF-8 at a character boundary rather than refused', () => {
    expect(truncateUtf8('APPROVED', 64)).toBe('APPROVED');
    expect(Buffer.byteLength(truncateUtf8('é'.repeat(40), 64))).toBe(64);
    expect(truncateUtf8(`${'a'.repeat(63)}é`, 64)).toBe('a'.repeat(63));
  });
});
