/**
 * Reads what the node needs from CARD_DATA's EMV tags (PROTOCOL.md 7) and checks the card data
 * belongs to the transaction the node asked for.
 *
 * Track 2 equivalent data (57) holds the full magnetic-stripe image: it is never returned, and no
 * error message or detail ever carries its bytes (nor the PAN's). When present it must agree with
 * 5A and 5F24 (the same PAN, the same expiry month): a card data set naming two cards, or a PAN
 * whose padding made it another number (a 15-digit PAN padded with 0 reads as 16 digits), is
 * refused rather than decided on either. A tag the node reads that appears twice anywhere in the
 * tree is refused: with two PANs or two amounts there is no safe way to choose.
 */
import { BadInputError } from '../../errors.js';
import { bcdDigits, bcdDigitsFPadded, isValidYymm, nibbles } from './bcd.js';
import { ProtocolError } from './errors.js';
import { CLEAR_CARD_TAGS } from './secure.js';
import { findAllTlv, type TlvObject } from './tlv.js';

const CLEAR_CARD_TAG_NUMBERS = CLEAR_CARD_TAGS.map((tag) => Number.parseInt(tag, 16));

export const EmvTag = {
  PAN: 0x5a,
  TRACK2: 0x57,
  EXPIRY: 0x5f24,
  CURRENCY: 0x5f2a,
  PAN_SEQUENCE: 0x5f34,
  AIP: 0x82,
  TVR: 0x95,
  TXN_DATE: 0x9a,
  TXN_TYPE: 0x9c,
  AMOUNT: 0x9f02,
  CRYPTOGRAM: 0x9f26,
  CID: 0x9f27,
  ATC: 0x9f36,
  UNPREDICTABLE: 0x9f37,
} as const;

export interface EmvCard {
  readonly pan: string;
  readonly expiryYymm: string;
  readonly panSequence?: string;
}

export interface EmvExpectation {
  readonly amountMinor: bigint | number;
  readonly currencyNumeric: number;
}

const PAN_DIGITS = { min: 12, max: 19 } as const;

function invalid(tag: string, problem: string): ProtocolError {
  return new ProtocolError('EDGEPAY_CARD_DATA_INVALID', `card data tag ${tag}: ${problem}`, { tag, problem });
}

function single(objects: readonly TlvObject[], tag: number, name: string): TlvObject | undefined {
  const found = findAllTlv(objects, tag);
  if (found.length > 1) throw invalid(name, `appears ${found.length} times`);
  const object = found[0];
  if (object?.children) throw invalid(name, 'is constructed');
  return object;
}

function required(objects: readonly TlvObject[], tag: number, name: string): TlvObject {
  const object = single(objects, tag, name);
  if (!object) throw invalid(name, 'missing');
  return object;
}

function panFromDigits(digits: string | undefined, name: string): string {
  if (digits === undefined || digits.length < PAN_DIGITS.min || digits.length > PAN_DIGITS.max) {
    throw invalid(name, `PAN is not ${PAN_DIGITS.min}-${PAN_DIGITS.max} BCD digits`);
  }
  return digits;
}

function expiryFrom5F24(object: TlvObject): string {
  const digits = object.value.length === 3 ? bcdDigits(object.value) : undefined;
  const day = digits === undefined ? 0 : Number(digits.slice(4, 6));
  if (digits === undefined || !isValidYymm(digits.slice(0, 4)) || day < 1 || day > 31) {
    throw invalid('5F24', 'expiry is not BCD YYMMDD');
  }
  return digits.slice(0, 4);
}

/** PAN, D separator, YYMM, then service code and discretionary digits, F-padded to a whole byte. */
function parseTrack2(object: TlvObject): { pan: string; expiryYymm: string } {
  const match = object.value.length <= 19 ? /^([0-9]+)d([0-9]{4})[0-9]*f?$/.exec(nibbles(object.value)) : null;
  if (!match || !isValidYymm(match[2] as string)) throw invalid('57', 'track 2 equivalent data is not well-formed');
  return { pan: panFromDigits(match[1], '57'), expiryYymm: match[2] as string };
}

function toExpectedAmount(amountMinor: bigint | number): bigint {
  if (typeof amountMinor === 'bigint' ? amountMinor >= 0n : Number.isSafeInteger(amountMinor) && amountMinor >= 0) {
    return BigInt(amountMinor);
  }
  throw new BadInputError('card data expectation', [{ path: 'amountMinor', message: 'must be a non-negative integer', value: String(amountMinor) }]);
}

/** 9F02 and 5F2A must be the amount and currency the node asked for: otherwise the card data belongs to another payment. */
function checkTransactionTerms(objects: readonly TlvObject[], expected: EmvExpectation): void {
  const expectedAmount = toExpectedAmount(expected.amountMinor);
  if (!Number.isInteger(expected.currencyNumeric) || expected.currencyNumeric < 0 || expected.currencyNumeric > 999) {
    throw new BadInputError('card data expectation', [{ path: 'currencyNumeric', message: 'must be an ISO 4217 numeric code', value: expected.currencyNumeric }]);
  }

  const amountObject = required(objects, EmvTag.AMOUNT, '9F02');
  const amountDigits = amountObject.value.length === 6 ? bcdDigits(amountObject.value) : undefined;
  if (amountDigits === undefined) throw invalid('9F02', 'amount is not 6 bytes of BCD');
  const currencyObject = required(objects, EmvTag.CURRENCY, '5F2A');
  const currencyDigits = currencyObject.value.length === 2 ? bcdDigits(currencyObject.value) : undefined;
  if (currencyDigits === undefined) throw invalid('5F2A', 'currency is not 2 bytes of BCD');

  const amountMinor = BigInt(amountDigits);
  const currencyNumeric = Number(currencyDigits);
  if (amountMinor !== expectedAmount || currencyNumeric !== expected.currencyNumeric) {
    throw new ProtocolError('EDGEPAY_CARD_DATA_MISMATCH', 'card data amount or currency differs from the transaction', {
      expectedAmountMinor: expectedAmount.toString(),
      cardAmountMinor: amountMinor.toString(),
      expectedCurrencyNumeric: expected.currencyNumeric,
      cardCurrencyNumeric: currencyNumeric,
    });
  }
}

/**
 * A secure session's TLV (PROTOCOL.md 8): no tag that carries the PAN, track data or the
 * cardholder's name may be there at all (the reader sealed them), the terms must be the
 * transaction's, and the expiry the node decides on comes from 5F24 alone.
 */
export function sealedCardTerms(objects: readonly TlvObject[], expected: EmvExpectation): { readonly expiryYymm: string } {
  for (const tag of CLEAR_CARD_TAG_NUMBERS) {
    if (findAllTlv(objects, tag).length > 0) {
      const name = tag.toString(16).toUpperCase();
      throw new ProtocolError('EDGEPAY_CARD_DATA_IN_CLEAR', `card data tag ${name} carries card data in clear, which a secure session never does`, { tag: name });
    }
  }
  checkTransactionTerms(objects, expected);
  return { expiryYymm: expiryFrom5F24(required(objects, EmvTag.EXPIRY, '5F24')) };
}

export function cardFromEmv(objects: readonly TlvObject[], expected: EmvExpectation): EmvCard {
  checkTransactionTerms(objects, expected);
  const panObject = single(objects, EmvTag.PAN, '5A');
  const expiryObject = single(objects, EmvTag.EXPIRY, '5F24');
  const track2Object = single(objects, EmvTag.TRACK2, '57');
  const fromTrack2 = track2Object ? parseTrack2(track2Object) : undefined;
  const panOf5A = panObject ? panFromDigits(bcdDigitsFPadded(panObject.value), '5A') : undefined;
  const expiryOf5F24 = expiryObject ? expiryFrom5F24(expiryObject) : undefined;
  if (fromTrack2 !== undefined && panOf5A !== undefined && fromTrack2.pan !== panOf5A) throw invalid('57', 'names another PAN than 5A');
  if (fromTrack2 !== undefined && expiryOf5F24 !== undefined && fromTrack2.expiryYymm !== expiryOf5F24) throw invalid('57', 'names another expiry month than 5F24');
  const pan = panOf5A ?? fromTrack2?.pan;
  const expiryYymm = expiryOf5F24 ?? fromTrack2?.expiryYymm;
  if (pan === undefined || expiryYymm === undefined) {
    throw invalid(panObject ? '5F24' : '5A', 'missing, and no track 2 equivalent data (57)');
  }

  const sequenceObject = single(objects, EmvTag.PAN_SEQUENCE, '5F34');
  if (!sequenceObject) return { pan, expiryYymm };
  const panSequence = sequenceObject.value.length === 1 ? bcdDigits(sequenceObject.value) : undefined;
  if (panSequence === undefined) throw invalid('5F34', 'PAN sequence number is not 1 byte of BCD');
  return { pan, expiryYymm, panSequence };
}
