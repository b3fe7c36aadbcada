import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cardFromEmv, EmvTag, emvForCard, encodeTlv, isProtocolError, parseTlv, type TlvNode } from '../src/reader/protocol/index.js';

const PAN = '4761739001010010';
const base = { pan: PAN, expiryYymm: '2712', amountMinor: 1250n, currencyNumeric: 978 };
const expected = { amountMinor: 1250n, currencyNumeric: 978 };

/** Through the wire form, as the node sees it. */
const viaWire = (nodes: readonly TlvNode[]) => parseTlv(encodeTlv(nodes));
const hexValue = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

function refusal(action: () => unknown): { code: string; text: string } {
  try {
    action();
  } catch (error) {
    if (!isProtocolError(error)) throw error;
    return { code: error.code, text: `${error.message} ${JSON.stringify(error.details)}` };
  }
  throw new Error('expected a refusal');
}

/** Replaces (or adds at the top level) one tag's value in a flat card data set. */
function withTag(tag: number, valueHex: string | undefined): TlvNode[] {
  const flat = emvForCard({ ...base, layout: 'flat' }).filter((node) => node.tag !== tag);
  return valueHex === undefined ? flat : [...flat, { tag, value: hexValue(valueHex) }];
}

describe('cardFromEmv', () => {
  it('reads PAN, expiry and PAN sequence from the vectors card data set', () => {
    const tlv =
      '7022' +
      '5a084761739001010010' +
      '5f2403271231' +
      '5f340101' +
      '570c4761739001010010d2712201' +
      '7718' +
      '82021980' +
      '9f270180' +
      '9f36020042' +
      '9f26088e19ed4bcd3b6c31' +
      '9f0206000000001250' +
      '5f2a020978' +
      '9a03250614' +
      '9c0100' +
      '95050000008000' +
      '9f37041a2b3c4d';
    expect(cardFromEmv(parseTlv(hexValue(tlv)), expected)).toEqual({ pan: PAN, expiryYymm: '2712', panSequence: '01' });
  });

  it('round-trips random cards in both layouts, with and without track 2 fallback', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{12,19}$/),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 1, max: 12 }),
        fc.bigInt({ min: 0n, max: 999_999_999_999n }),
        fc.integer({ min: 0, max: 999 }),
        fc.constantFrom('templates' as const, 'flat' as const),
        fc.subarray([EmvTag.PAN, EmvTag.EXPIRY, EmvTag.PAN_SEQUENCE]),
        (pan, yy, mm, amountMinor, currencyNumeric, layout, omitTags) => {
          const expiryYymm = `${String(yy).padStart(2, '0')}${String(mm).padStart(2, '0')}`;
          const nodes = emvForCard({ pan, expiryYymm, amountMinor, currencyNumeric, layout, omitTags, panSequence: '07' });
          const card = cardFromEmv(viaWire(nodes), { amountMinor: Number(amountMinor), currencyNumeric });
          expect(card).toEqual(omitTags.includes(EmvTag.PAN_SEQUENCE) ? { pan, expiryYymm } : { pan, expiryYymm, panSequence: '07' });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a different amount or currency as a mismatch', () => {
    const objects = viaWire(emvForCard(base));
    expect(refusal(() => cardFromEmv(objects, { amountMinor: 1251, currencyNumeric: 978 })).code).toBe('EDGEPAY_CARD_DATA_MISMATCH');
    expect(refusal(() => cardFromEmv(objects, { amountMinor: 1250, currencyNumeric: 840 })).code).toBe('EDGEPAY_CARD_DATA_MISMATCH');
  });

  it.each([
    ['PAN with a non-BCD nibble', withTag(EmvTag.PAN, '4761739001a10010')],
    ['PAN with F padding in the middle', withTag(EmvTag.PAN, '47617390f1010010')],
    ['PAN of 11 digits', withTag(EmvTag.PAN, '47617390010f')],
    ['PAN of 20 digits', withTag(EmvTag.PAN, '47617390010100104761')],
    ['expiry month 13', withTag(EmvTag.EXPIRY, '271331')],
    ['expiry of 2 bytes', withTag(EmvTag.EXPIRY, '2712')],
    ['amount of 5 bytes', withTag(EmvTag.AMOUNT, '0000001250')],
    ['amount with a non-BCD nibble', withTag(EmvTag.AMOUNT, '00000000125a')],
    ['amount missing', withTag(EmvTag.AMOUNT, undefined)],
    ['currency missing', withTag(EmvTag.CURRENCY, undefined)],
    ['currency not BCD', withTag(EmvTag.CURRENCY, '03d2')],
    ['PAN sequence not BCD', withTag(EmvTag.PAN_SEQUENCE, '0a')],
    ['two PANs', [...emvForCard(base), { tag: EmvTag.PAN, value: hexValue('5555555555554444') }]],
    ['two amounts in different templates', [...emvForCard(base), { tag: 0x77, children: [{ tag: EmvTag.AMOUNT, value: hexValue('000000001250') }] }]],
    ['no PAN and no track 2', emvForCard({ ...base, omitTags: [EmvTag.PAN, EmvTag.TRACK2] })],
    ['no expiry and no track 2', emvForCard({ ...base, omitTags: [EmvTag.EXPIRY, EmvTag.TRACK2] })],
  ])('refuses %s as invalid', (_name, nodes) => {
    expect(refusal(() => cardFromEmv(viaWire(nodes), expected)).code).toBe('EDGEPAY_CARD_DATA_INVALID');
  });

  it('never puts track 2 or PAN digits in an error', () => {
    const badTrack2 = '4761739001010010d2713201ffff';
    const nodes = [...emvForCard({ ...base, omitTags: [EmvTag.PAN, EmvTag.TRACK2] }), { tag: EmvTag.TRACK2, value: hexValue(badTrack2) }];
    const { code, text } = refusal(() => cardFromEmv(viaWire(nodes), expected));
    expect(code).toBe('EDGEPAY_CARD_DATA_INVALID');
    expect(text).not.toContain('4761');
    expect(text.toLowerCase()).not.toContain('d2713');
    const badPan = refusal(() => cardFromEmv(viaWire(withTag(EmvTag.PAN, '4761739001a10010')), expected));
    expect(badPan.text).not.toContain('4761');
  });

  it('refuses track 2 that is not well-formed even when 5A and 5F24 are present', () => {
    const nodes = [...emvForCard({ ...base, omitTags: [EmvTag.TRACK2] }), { tag: EmvTag.TRACK2, value: hexValue('ffff') }];
    expect(refusal(() => cardFromEmv(viaWire(nodes), expected)).code).toBe('EDGEPAY_CARD_DATA_INVALID');
  });

  it('refuses 5A and 57 that name two cards, or two expiry months, without naming either', () => {
    // A 15-digit PAN padded with 0 instead of F reads as 16 digits; its track 2 says 15.
    const amex = '371449635398431';
    const zeroPadded = [...emvForCard({ ...base, pan: amex, omitTags: [EmvTag.PAN] }), { tag: EmvTag.PAN, value: hexValue(`${amex}0`) }];
    const padding = refusal(() => cardFromEmv(viaWire(zeroPadded), expected));
    expect(padding).toMatchObject({ code: 'EDGEPAY_CARD_DATA_INVALID' });
    expect(padding.text).toContain('names another PAN than 5A');
    expect(padding.text).not.toContain('3714');
    const otherCard = [...emvForCard({ ...base, omitTags: [EmvTag.TRACK2] }), { tag: EmvTag.TRACK2, value: hexValue('5555555555554444d2712201') }];
    expect(refusal(() => cardFromEmv(viaWire(otherCard), expected)).text).toContain('names another PAN than 5A');
    const otherExpiry = [...emvForCard({ ...base, omitTags: [EmvTag.TRACK2] }), { tag: EmvTag.TRACK2, value: hexValue(`${PAN}d2801201`) }];
    expect(refusal(() => cardFromEmv(viaWire(otherExpiry), expected)).text).toContain('names another expiry month than 5F24');
    // The same card in both: read as usual.
    const agreeing = [...emvForCard({ ...base, omitTags: [EmvTag.TRACK2] }), { tag: EmvTag.TRACK2, value: hexValue(`${PAN}d2712201`) }];
    expect(cardFromEmv(viaWire(agreeing), expected)).toMatchObject({ pan: PAN, expiryYymm: '2712' });
  });

  it('takes a 15-digit PAN padded with one F, and refuses more padding than the last byte needs', () => {
    const amex = '371449635398431';
    expect(cardFromEmv(viaWire(emvForCard({ ...base, pan: amex })), expected)).toMatchObject({ pan: amex });
    expect(refusal(() => cardFromEmv(viaWire(withTag(EmvTag.PAN, `${PAN}ff`)), expected)).code).toBe('EDGEPAY_CARD_DATA_INVALID');
  });

  it('refuses an invalid expectation from the caller as bad input', () => {
    const objects = viaWire(emvForCard(base));
    expect(() => cardFromEmv(objects, { amountMinor: 12.5, currencyNumeric: 978 })).toThrow(expect.objectContaining({ code: 'EDGEPAY_BAD_INPUT' }));
    expect(() => cardFromEmv(objects, { amountMinor: 1250, currencyNumeric: 1000 })).toThrow(expect.objectContaining({ code: 'EDGEPAY_BAD_INPUT' }));
  });
});

describe('emvForCard', () => {
  it('builds every tag of PROTOCOL.md 4, in 70/77 templates by default', () => {
    const nodes = emvForCard(base);
    expect(nodes.slice(0, 2).map((n) => n.tag)).toEqual([0x70, 0x77]);
    const tags = parseTlv(encodeTlv(nodes)).flatMap((o) => (o.children ? o.children.map((c) => c.tag) : [o.tag]));
    expect(new Set(tags)).toEqual(new Set(Object.values(EmvTag)));
  });

  it('refuses inputs a card cannot carry', () => {
    for (const spec of [
      { ...base, pan: '1234' },
      { ...base, expiryYymm: '2713' },
      { ...base, amountMinor: 10n ** 12n },
      { ...base, amountMinor: 1.5 },
    ]) {
      expect(() => emvForCard(spec)).toThrow(expect.objectContaining({ code: 'EDGEPAY_MESSAGE_INVALID' }));
    }
  });
});
