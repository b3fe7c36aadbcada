/**
 * The checks on card data the cases share. A failure names the tag, the value the node asked for
 * and the value that came, for the tags that are the transaction's (9F02 amount, 5F2A currency);
 * of every other tag only its name is ever said, since CARD_DATA's TLV holds the PAN and track 2.
 */
import { bcdDigits, isValidYymm } from '../protocol/bcd.js';
import {
  CLEAR_CARD_TAGS,
  type SealedCardMessage,
  SecureSizes,
  type SessionNonces,
  type StartTxnMessage,
  type TlvObject,
  findAllTlv,
  isProtocolError,
  keyFingerprint,
  parseTlv,
  readerPublicKey,
  sealedCardSignedBytes,
  sealedCardSignedPart,
  verifyReaderSignature,
} from '../protocol/index.js';
import { fail } from './errors.js';

const TAG = { AMOUNT: 0x9f02, CURRENCY: 0x5f2a, EXPIRY: 0x5f24 } as const;

/** The key signatures are checked with, and where the runner has it from: that goes in every reason. */
export interface VerifyingKey {
  readonly raw: Uint8Array;
  /** Given with --reader-key (what a lane pins), or else the key the reader sent in AUTH_RESPONSE. */
  readonly pinned: boolean;
}

export function describeKey(key: VerifyingKey): string {
  return key.pinned ? `the pinned key (--reader-key, ${keyFingerprint(key.raw)})` : `the key from AUTH_RESPONSE (${keyFingerprint(key.raw)})`;
}

export function signatureValid(key: VerifyingKey, bytes: Uint8Array, signature: Uint8Array): boolean {
  return verifyReaderSignature(readerPublicKey(key.raw), bytes, signature);
}

export function parseCardTlv(what: string, tlv: Uint8Array): TlvObject[] {
  try {
    return parseTlv(tlv);
  } catch (error) {
    if (!isProtocolError(error, 'EDGEPAY_TLV_INVALID')) throw error;
    fail(`${what}: its TLV does not parse (${String(error.details.reason)} at offset ${String(error.details.offset)})`);
  }
}

/** The one object with this tag anywhere in the tree; two would leave the node no safe choice. */
function single(objects: readonly TlvObject[], tag: number, name: string, what: string): TlvObject {
  const found = findAllTlv(objects, tag);
  if (found.length !== 1) fail(`${what}: expected one ${name}, got ${found.length}`);
  return found[0] as TlvObject;
}

/** 9F02 and 5F2A must be START_TXN's amount and currency: otherwise the card data is another payment's. */
export function checkTerms(objects: readonly TlvObject[], what: string, txn: StartTxnMessage): void {
  const amount = single(objects, TAG.AMOUNT, '9F02', what);
  const amountDigits = amount.value.length === 6 ? bcdDigits(amount.value) : undefined;
  if (amountDigits === undefined) fail(`${what}: 9F02 is not 6 bytes of BCD`);
  if (BigInt(amountDigits) !== txn.amountMinor) fail(`${what}: expected 9F02 = ${txn.amountMinor} (START_TXN's amount), got ${BigInt(amountDigits)}`);
  const currency = single(objects, TAG.CURRENCY, '5F2A', what);
  const currencyDigits = currency.value.length === 2 ? bcdDigits(currency.value) : undefined;
  if (currencyDigits === undefined) fail(`${what}: 5F2A is not 2 bytes of BCD`);
  if (Number(currencyDigits) !== txn.currencyNumeric) fail(`${what}: expected 5F2A = ${txn.currencyNumeric} (START_TXN's currency), got ${Number(currencyDigits)}`);
}

/**
 * Everything PROTOCOL.md's S3 lists, in the node's order: the signature over this session's nonces
 * and every byte before it, then the TLV (parses, no tag that carries the PAN or track data, the
 * transaction's terms, an expiry), then the fixed fields. The decoder has already refused a
 * SEALED_CARD whose sizes, last4 or flags are off the layout (NAK 5); they are checked again here so
 * the case states them itself.
 */
export function checkSealedCard(msg: SealedCardMessage, txn: StartTxnMessage, nonces: SessionNonces, key: VerifyingKey): void {
  const what = `SEALED_CARD txnId ${msg.txnId}`;
  if (!signatureValid(key, sealedCardSignedBytes(nonces, sealedCardSignedPart(msg)), msg.signature)) {
    fail(`${what}: signature does not verify with ${describeKey(key)} over this session's nonces and the payload`);
  }
  const objects = parseCardTlv(what, msg.tlv);
  for (const tag of CLEAR_CARD_TAGS) {
    const count = findAllTlv(objects, Number.parseInt(tag, 16)).length;
    if (count > 0) fail(`${what}: its TLV carries tag ${tag}, which holds card data in clear and is forbidden in a secure session`);
  }
  checkTerms(objects, what, txn);
  const expiry = single(objects, TAG.EXPIRY, '5F24', what);
  const expiryDigits = expiry.value.length === 3 ? bcdDigits(expiry.value) : undefined;
  if (expiryDigits === undefined || !isValidYymm(expiryDigits.slice(0, 4))) fail(`${what}: 5F24 is not an expiry date (BCD YYMMDD)`);
  if (!/^\d{4}$/.test(msg.last4)) fail(`${what}: last4 is not four ASCII digits`);
  if (msg.token.length !== SecureSizes.TOKEN) fail(`${what}: expected a token of ${SecureSizes.TOKEN} bytes, got ${msg.token.length}`);
}
