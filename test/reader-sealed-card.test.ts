import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EdgepayError } from '../src/errors.js';
import { withLuhnDigit } from '../src/card/luhn.js';
import { EmvTag, type DataMessage, type SealedCardMessage, type SessionNonces, emvForCard, encodeTlv, isProtocolError, readerPublicKey } from '../src/reader/protocol/index.js';
import { sealedCardFacts } from '../src/reader/sealed-card.js';
import { ReaderTransactions, type TransactionLink } from '../src/reader/reader-transactions.js';
import { ReaderSecureSession } from '../src/reader/simulator/secure-reader.js';
import { testCardKeys } from './support/card-keys.js';
import { TEST_TOKEN_KEY } from './support/cards.js';

/*
 * The node's checks of sealed card data (PROTOCOL.md 8), on messages the reader's own code builds:
 * every refusal names its reason and never a card digit.
 */

const PAN = withLuhnDigit('476173900101001');
const EXPIRY = '3011';

async function readerAndSession(): Promise<{ reader: ReaderSecureSession; session: SessionNonces; publicKey: Uint8Array }> {
  const keys = await testCardKeys();
  const centrePublicKey = new Uint8Array(Buffer.from(readFileSync(keys.files.centrePublicKeyFile, 'utf8'), 'base64'));
  const reader = new ReaderSecureSession({ seed: new Uint8Array(randomBytes(32)), tokenKey: TEST_TOKEN_KEY, centrePublicKey });
  const nodeNonce = new Uint8Array(randomBytes(32));
  const response = reader.answer({ kind: 'AUTH_CHALLENGE', nodeNonce });
  return { reader, session: { nodeNonce, readerNonce: response.readerNonce }, publicKey: reader.publicKey };
}

function tlv(options: { amountMinor?: number; omit?: number[] } = {}): Uint8Array {
  return encodeTlv(emvForCard({ pan: PAN, expiryYymm: EXPIRY, amountMinor: options.amountMinor ?? 1250, currencyNumeric: 978, omitTags: options.omit ?? [EmvTag.PAN, EmvTag.TRACK2] }));
}

const expected = { amountMinor: 1250, currencyNumeric: 978 };

function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (isProtocolError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('sealed card data, as the node reads it', () => {
  it('a sealed card from the authenticated reader gives the token, last four, expiry and Luhn result, and the centre opens the PAN', async () => {
    const { reader, session, publicKey } = await readerAndSession();
    const msg = await reader.seal(9, { pan: PAN, expiryYymm: EXPIRY }, tlv());
    const facts = sealedCardFacts(msg, { session, readerKey: readerPublicKey(publicKey), expected });
    expect(facts).toMatchObject({ last4: PAN.slice(-4), expiryYear: 2030, expiryMonth: 11, checkDigitValid: true });
    expect((await testCardKeys()).reveal(facts)).toEqual({ pan: PAN, expiryYymm: EXPIRY });
    expect(JSON.stringify({ ...facts, sealed: undefined })).not.toContain(PAN);
  });

  it('is refused when signed in another session, by another reader, or changed in any field', async () => {
    const { reader, session, publicKey } = await readerAndSession();
    const msg = await reader.seal(9, { pan: PAN, expiryYymm: EXPIRY }, tlv());
    const key = readerPublicKey(publicKey);
    const otherSession = { ...session, nodeNonce: new Uint8Array(randomBytes(32)) };
    expect(refusal(() => sealedCardFacts(msg, { session: otherSession, readerKey: key, expected })).code).toBe('EDGEPAY_CARD_SIGNATURE_INVALID');
    const other = await readerAndSession();
    expect(refusal(() => sealedCardFacts(msg, { session, readerKey: readerPublicKey(other.publicKey), expected })).code).toBe('EDGEPAY_CARD_SIGNATURE_INVALID');
    const changed: SealedCardMessage[] = [
      { ...msg, txnId: 10 },
      { ...msg, last4: '0000' },
      { ...msg, flags: 0 },
      { ...msg, token: new Uint8Array(32) },
      { ...msg, sealed: msg.sealed.map((b, i) => (i === 60 ? b ^ 1 : b)) },
      { ...msg, tlv: tlv({ amountMinor: 1 }) },
    ];
    for (const forged of changed) expect(refusal(() => sealedCardFacts(forged, { session, readerKey: key, expected })).code).toBe('EDGEPAY_CARD_SIGNATURE_INVALID');
  });

  it('refuses a signed card that still carries the PAN or track 2 in clear, and one for another amount or without an expiry', async () => {
    const { reader, session, publicKey } = await readerAndSession();
    const key = readerPublicKey(publicKey);
    const withPan = await reader.seal(9, { pan: PAN, expiryYymm: EXPIRY }, tlv({ omit: [EmvTag.TRACK2] }));
    const withTrack2 = await reader.seal(9, { pan: PAN, expiryYymm: EXPIRY }, tlv({ omit: [EmvTag.PAN] }));
    for (const msg of [withPan, withTrack2]) {
      const { code, message } = refusal(() => sealedCardFacts(msg, { session, readerKey: key, expected }));
      expect(code).toBe('EDGEPAY_CARD_DATA_IN_CLEAR');
      expect(message).not.toContain(PAN);
    }
    const otherAmount = await reader.seal(9, { pan: PAN, expiryYymm: EXPIRY }, tlv({ amountMinor: 999 }));
    expect(refusal(() => sealedCardFacts(otherAmount, { session, readerKey: key, expected })).code).toBe('EDGEPAY_CARD_DATA_MISMATCH');
    const noExpiry = await reader.seal(9, { pan: PAN, expiryYymm: EXPIRY }, tlv({ omit: [EmvTag.PAN, EmvTag.TRACK2, EmvTag.EXPIRY] }));
    expect(refusal(() => sealedCardFacts(noExpiry, { session, readerKey: key, expected })).message).toContain('5F24');
  });
});

/** A lane's link with the session state set by the test; it records what the node sends. */
function fakeLink(secure: { session: SessionNonces; publicKey: Uint8Array } | undefined): TransactionLink & { sent: DataMessage[] } {
  const sent: DataMessage[] = [];
  return {
    state: 'ready',
    secureSession: secure?.session,
    pinned: secure === undefined ? undefined : { key: readerPublicKey(secure.publicKey) },
    sent,
    send: async (msg) => {
      sent.push(msg);
    },
  };
}

const silentLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never;

describe('card data of the wrong kind for the session', () => {
  it('clear CARD_DATA on a secure session is refused unread, and the reader told to cancel', async () => {
    const secure = await readerAndSession();
    const link = fakeLink(secure);
    const captured: unknown[] = [];
    const txns = new ReaderTransactions(link, { lane: 'l1', port: '/dev/null' }, silentLog, async (raw) => {
      captured.push(raw);
      throw new Error('capture must not run');
    });
    const card = txns.collect({ type: 'collect', txnId: 5, amountMinor: 1250, currencyNumeric: 978, timeoutMs: 5_000 });
    txns.onMessage({ kind: 'CARD_DATA', txnId: 5, tlv: tlv({ omit: [] }) });
    const error = await card.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EdgepayError);
    expect((error as EdgepayError).code).toBe('EDGEPAY_CARD_INVALID');
    expect((error as EdgepayError).details.reason).toBe('EDGEPAY_CARD_DATA_WRONG_SESSION');
    expect(captured).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(link.sent.some((m) => m.kind === 'CANCEL' && m.txnId === 5)).toBe(true);
  });

  it('clear CARD_DATA on a pinned lane between sessions (the reader restarting, not yet challenged again) is refused unread too', async () => {
    const secure = await readerAndSession();
    const link = { ...fakeLink(secure), secureSession: undefined };
    const txns = new ReaderTransactions(link, { lane: 'l1', port: '/dev/null' }, silentLog, async () => {
      throw new Error('capture must not run');
    });
    const card = txns.collect({ type: 'collect', txnId: 7, amountMinor: 1250, currencyNumeric: 978, timeoutMs: 5_000 });
    txns.onMessage({ kind: 'CARD_DATA', txnId: 7, tlv: tlv({ omit: [] }) });
    const error = (await card.catch((e: unknown) => e)) as EdgepayError;
    expect(error.code).toBe('EDGEPAY_CARD_INVALID');
    expect(error.details.reason).toBe('EDGEPAY_CARD_DATA_WRONG_SESSION');
  });

  it('SEALED_CARD on a clear (1.0) link is refused: there is no session to check it against', async () => {
    const secure = await readerAndSession();
    const link = fakeLink(undefined);
    const txns = new ReaderTransactions(link, { lane: 'l1', port: '/dev/null' }, silentLog, async () => {
      throw new Error('capture must not run');
    });
    const card = txns.collect({ type: 'collect', txnId: 6, amountMinor: 1250, currencyNumeric: 978, timeoutMs: 5_000 });
    txns.onMessage(await secure.reader.seal(6, { pan: PAN, expiryYymm: EXPIRY }, tlv()));
    const error = (await card.catch((e: unknown) => e)) as EdgepayError;
    expect(error.code).toBe('EDGEPAY_CARD_INVALID');
    expect(error.details.reason).toBe('EDGEPAY_CARD_DATA_WRONG_SESSION');
  });
});
