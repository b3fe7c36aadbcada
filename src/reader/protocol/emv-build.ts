/**
 * Builds the EMV tag set a real contact/contactless reader would send in CARD_DATA, for the
 * simulated reader and tests. The default layout mirrors where the data comes from on a real
 * terminal: card records in a 70 template, the GENERATE AC response in a 77 template, and the
 * terminal's own data (amount, currency, date, TVR, unpredictable number) flat beside them.
 */
import { MAX_AMOUNT_MINOR } from '../../money/limits.js';
import { isValidYymm, packNibbles } from './bcd.js';
import { EmvTag } from './emv.js';
import { ProtocolError } from './errors.js';
import type { TlvNode } from './tlv-encode.js';

export interface EmvCardSpec {
  readonly pan: string;
  readonly expiryYymm: string;
  readonly amountMinor: bigint | number;
  readonly currencyNumeric: number;
  readonly panSequence?: string;
  /** 'templates' (default) nests card and cryptogram data in 70 and 77; 'flat' puts every tag at the top level. */
  readonly layout?: 'templates' | 'flat';
  /** Tags to leave out, e.g. [0x5a, 0x5f24] to make the node fall back to track 2 (57). */
  readonly omitTags?: readonly number[];
  readonly transactionDateYymmdd?: string;
  readonly atc?: number;
  readonly unpredictableNumber?: number;
  readonly cryptogram?: Uint8Array;
}

/** 9F02 is n12; the bound is shared with the POS API so it refuses what a reader cannot carry. */
const MAX_AMOUNT_N12 = BigInt(MAX_AMOUNT_MINOR);

function refuse(field: string, problem: string): never {
  throw new ProtocolError('EDGEPAY_MESSAGE_INVALID', `emvForCard ${field}: ${problem}`, { field, problem });
}

function lastDayOfMonth(yymm: string): string {
  const year = 2000 + Number(yymm.slice(0, 2));
  const month = Number(yymm.slice(2, 4));
  return String(new Date(Date.UTC(year, month, 0)).getUTCDate()).padStart(2, '0');
}

function u16Bytes(value: number): Uint8Array {
  return Uint8Array.of((value >>> 8) & 0xff, value & 0xff);
}

function u32Bytes(value: number): Uint8Array {
  return Uint8Array.of((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

export function emvForCard(spec: EmvCardSpec): TlvNode[] {
  if (!/^[0-9]{12,19}$/.test(spec.pan)) refuse('pan', 'must be 12-19 digits');
  if (!isValidYymm(spec.expiryYymm)) refuse('expiryYymm', 'must be YYMM');
  if (typeof spec.amountMinor === 'number' && !Number.isSafeInteger(spec.amountMinor)) refuse('amountMinor', 'must be an integer');
  const amount = BigInt(spec.amountMinor);
  if (amount < 0n || amount > MAX_AMOUNT_N12) refuse('amountMinor', 'must fit 12 BCD digits');
  if (!Number.isInteger(spec.currencyNumeric) || spec.currencyNumeric < 0 || spec.currencyNumeric > 999) refuse('currencyNumeric', 'must be 0-999');
  const panSequence = spec.panSequence ?? '01';
  if (!/^[0-9]{2}$/.test(panSequence)) refuse('panSequence', 'must be 2 digits');
  const date = spec.transactionDateYymmdd ?? '250614';
  if (!/^[0-9]{6}$/.test(date)) refuse('transactionDateYymmdd', 'must be YYMMDD');

  const omit = new Set(spec.omitTags ?? []);
  const keep = (nodes: TlvNode[]): TlvNode[] => nodes.filter((node) => !omit.has(node.tag));
  const track2 = `${spec.pan}d${spec.expiryYymm}2010000000`;

  const card = keep([
    { tag: EmvTag.PAN, value: packNibbles(spec.pan) },
    { tag: EmvTag.EXPIRY, value: packNibbles(`${spec.expiryYymm}${lastDayOfMonth(spec.expiryYymm)}`) },
    { tag: EmvTag.PAN_SEQUENCE, value: packNibbles(panSequence) },
    { tag: EmvTag.TRACK2, value: packNibbles(track2) },
  ]);
  const cryptogram = keep([
    { tag: EmvTag.AIP, value: Uint8Array.of(0x19, 0x80) },
    { tag: EmvTag.CID, value: Uint8Array.of(0x80) },
    { tag: EmvTag.ATC, value: u16Bytes(spec.atc ?? 0x42) },
    { tag: EmvTag.CRYPTOGRAM, value: spec.cryptogram ?? Uint8Array.of(0x8e, 0x19, 0xed, 0x4b, 0xcd, 0x3b, 0x6c, 0x31) },
  ]);
  const terminal = keep([
    { tag: EmvTag.AMOUNT, value: packNibbles(amount.toString(), 6) },
    { tag: EmvTag.CURRENCY, value: packNibbles(String(spec.currencyNumeric), 2) },
    { tag: EmvTag.TXN_DATE, value: packNibbles(date) },
    { tag: EmvTag.TXN_TYPE, value: Uint8Array.of(0x00) },
    { tag: EmvTag.TVR, value: Uint8Array.of(0x00, 0x00, 0x00, 0x80, 0x00) },
    { tag: EmvTag.UNPREDICTABLE, value: u32Bytes(spec.unpredictableNumber ?? 0x1a2b3c4d) },
  ]);
  if (spec.layout === 'flat') return [...card, ...cryptogram, ...terminal];
  return [{ tag: 0x70, children: card }, { tag: 0x77, children: cryptogram }, ...terminal];
}
