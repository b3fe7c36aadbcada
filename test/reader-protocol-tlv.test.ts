import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeTlv, isProtocolError, parseTlv, TLV_MAX_DEPTH, TLV_MAX_INPUT_BYTES, TLV_MAX_OBJECTS, type TlvNode, type TlvObject } from '../src/reader/protocol/index.js';

const REASONS = ['truncated', 'indefinite_length', 'length_too_long', 'tag_too_long', 'too_deep', 'too_many_objects', 'too_long'];

/** A well-formed tag number; `constructed` sets bit 6 of the first byte. */
function tagArb(constructed: boolean): fc.Arbitrary<number> {
  // 0x00 is no tag: where an object could start, it is padding.
  const firstSingle = fc.integer({ min: 1, max: 0xff }).filter((b) => (b & 0x1f) !== 0x1f && ((b & 0x20) !== 0) === constructed);
  const firstMulti = fc.integer({ min: 0, max: 7 }).map((cls) => ((cls & 0x6) << 5) | (constructed ? 0x20 : 0) | 0x1f);
  const last = fc.integer({ min: 0, max: 0x7f });
  const middle = fc.integer({ min: 0x80, max: 0xff });
  return fc.oneof(
    firstSingle,
    fc.tuple(firstMulti, last).map(([a, b]) => a * 0x100 + b),
    fc.tuple(firstMulti, middle, last).map(([a, b, c]) => a * 0x10000 + b * 0x100 + c),
  );
}

const { tree } = fc.letrec<{ tree: TlvNode; primitive: TlvNode; constructed: TlvNode }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('primitive'), tie('constructed')),
  primitive: fc.record({ tag: tagArb(false), value: fc.uint8Array({ maxLength: 300 }) }),
  constructed: fc.record({ tag: tagArb(true), children: fc.array(tie('tree'), { maxLength: 4 }) }),
}));

function stats(nodes: readonly TlvNode[], depth = 1): { count: number; depth: number } {
  let count = 0;
  let deepest = nodes.length > 0 ? depth : depth - 1;
  for (const node of nodes) {
    count++;
    if (node.children) {
      const inner = stats(node.children, depth + 1);
      count += inner.count;
      deepest = Math.max(deepest, inner.depth);
    }
  }
  return { count, depth: deepest };
}

/** Strips a parsed tree down to the shape the encoder takes, so it compares with the generated input. */
function shape(objects: readonly (TlvObject | TlvNode)[]): TlvNode[] {
  return objects.map((o) => (o.children ? { tag: o.tag, children: shape(o.children) } : { tag: o.tag, value: o.value }));
}

function reasonOf(bytes: Uint8Array): string | undefined {
  try {
    parseTlv(bytes);
    return undefined;
  } catch (error) {
    if (!isProtocolError(error, 'EDGEPAY_TLV_INVALID')) throw error;
    expect(typeof error.details.offset).toBe('number');
    return String(error.details.reason);
  }
}

/** Bytes biased to short lengths, long-form markers and multi-byte/constructed tags. */
const tlvishByte = fc.oneof(fc.constantFrom(0x00, 0x01, 0x02, 0x1f, 0x3f, 0x5f, 0x70, 0x77, 0x80, 0x81, 0x82, 0x83, 0x84, 0x9f, 0xbf, 0xff), fc.integer({ min: 0, max: 255 }));

describe('parseTlv properties', () => {
  it('random bytes: returns, or throws EDGEPAY_TLV_INVALID with a known reason', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 1100 }),
          fc.array(tlvishByte, { maxLength: 60 }).map((b) => Uint8Array.from(b)),
        ),
        (bytes) => {
          const reason = reasonOf(bytes);
          if (reason !== undefined) expect(REASONS).toContain(reason);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('whatever it accepts re-encodes to something it parses to the same tree', () => {
    fc.assert(
      fc.property(
        fc.array(tlvishByte, { maxLength: 60 }).map((b) => Uint8Array.from(b)),
        (bytes) => {
          if (reasonOf(bytes) !== undefined) return;
          const parsed = parseTlv(bytes);
          expect(shape(parseTlv(encodeTlv(parsed)))).toEqual(shape(parsed));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('encode then parse round-trips every tree within the limits, and refuses the others for the right reason', () => {
    fc.assert(
      fc.property(fc.array(tree, { maxLength: 6 }), (nodes) => {
        const bytes = encodeTlv(nodes);
        const { count, depth } = stats(nodes);
        const reason = reasonOf(bytes);
        if (bytes.length > TLV_MAX_INPUT_BYTES) expect(reason).toBe('too_long');
        else if (depth > TLV_MAX_DEPTH || count > TLV_MAX_OBJECTS) expect(['too_deep', 'too_many_objects']).toContain(reason);
        else expect(shape(parseTlv(bytes))).toEqual(shape(nodes));
      }),
      { numRuns: 1000 },
    );
  });

  it('truncating a valid encoding anywhere is refused as truncated (or stays valid at an object boundary)', () => {
    fc.assert(
      fc.property(fc.array(tree, { minLength: 1, maxLength: 3 }), fc.nat(), (nodes, cutSeed) => {
        const bytes = encodeTlv(nodes);
        const { count, depth } = stats(nodes);
        fc.pre(bytes.length <= TLV_MAX_INPUT_BYTES && depth <= TLV_MAX_DEPTH && count <= TLV_MAX_OBJECTS);
        const boundaries = new Set<number>([0]);
        let at = 0;
        for (const node of nodes) boundaries.add((at += encodeTlv([node]).length));
        const cut = cutSeed % bytes.length;
        const reason = reasonOf(bytes.subarray(0, cut));
        expect(reason).toBe(boundaries.has(cut) ? undefined : 'truncated');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseTlv padding (EMV Book 3 annex B1)', () => {
  it('00 bytes at object boundaries, at the top level and inside templates, leave the tree as it was', () => {
    /** Encodes with `pads[i]` zero bytes before the i-th object of each level, and after the last. */
    const padded = (nodes: readonly TlvNode[], pads: () => number): Uint8Array => {
      const parts: Uint8Array[] = [];
      for (const node of nodes) {
        parts.push(new Uint8Array(pads()));
        parts.push(node.children ? wrap(node.tag, padded(node.children, pads)) : encodeTlv([node]));
      }
      parts.push(new Uint8Array(pads()));
      return Uint8Array.from(Buffer.concat(parts));
    };
    /** A template around bytes the encoder would not write itself: encoded as a primitive, then its constructed bit set back. */
    const wrap = (tag: number, inner: Uint8Array): Uint8Array => {
      const firstByteShift = tag > 0xffff ? 16 : tag > 0xff ? 8 : 0;
      const bytes = encodeTlv([{ tag: tag & ~(0x20 << firstByteShift), value: inner }]);
      bytes[0] = bytes[0]! | 0x20;
      return bytes;
    };
    fc.assert(
      fc.property(fc.array(tree, { maxLength: 4 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }), (nodes, padSeed) => {
        const { count, depth } = stats(nodes);
        let next = 0;
        const bytes = padded(nodes, () => padSeed[next++ % padSeed.length]!);
        fc.pre(bytes.length <= TLV_MAX_INPUT_BYTES && depth <= TLV_MAX_DEPTH && count <= TLV_MAX_OBJECTS);
        expect(shape(parseTlv(bytes))).toEqual(shape(nodes));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseTlv details', () => {
  it('reports the offset of the refusal', () => {
    try {
      parseTlv(Uint8Array.from(Buffer.from('9f0201005a80', 'hex')));
      expect.unreachable();
    } catch (error) {
      expect(isProtocolError(error) && error.details).toEqual({ reason: 'indefinite_length', offset: 5 });
    }
  });

  it('returns copies, not views of the input', () => {
    const input = Uint8Array.from(Buffer.from('5a0111', 'hex'));
    const [object] = parseTlv(input);
    input[2] = 0x22;
    expect(object?.value).toEqual(Uint8Array.of(0x11));
  });

  it('encodeTlv refuses malformed tags and mismatched node kinds', () => {
    for (const nodes of [[{ tag: 0x1f, value: new Uint8Array(0) }], [{ tag: 0x9f81, value: new Uint8Array(0) }], [{ tag: 0x70, value: new Uint8Array(0) }], [{ tag: 0x5a, children: [] }]]) {
      expect(() => encodeTlv(nodes)).toThrow(expect.objectContaining({ code: 'EDGEPAY_MESSAGE_INVALID' }));
    }
  });
});
