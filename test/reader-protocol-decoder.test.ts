/**
 * Property tests of the streaming frame decoder. A whole-buffer reference decoder written straight
 * from PROTOCOL.md 1 is the model; the streaming decoder must agree with it whatever the chunking.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc16, decodeFrame, encodeFrame, FrameDecoder, isProtocolError, MAX_FRAME_BYTES, MAX_PAYLOAD, type DecoderEvent } from '../src/reader/protocol/index.js';

type Outcome = { frame: string } | { error: string };

function reference(bytes: Uint8Array): Outcome[] {
  const out: Outcome[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] !== 0x02) {
      i++;
      continue;
    }
    if (i + 3 > bytes.length) break;
    const len = ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    if (len < 2 || len > MAX_PAYLOAD + 2) {
      out.push({ error: len < 2 ? 'undersize' : 'oversize' });
      i++;
      continue;
    }
    if (i + len + 6 > bytes.length) break;
    const crc = ((bytes[i + 3 + len] as number) << 8) | (bytes[i + 4 + len] as number);
    if (bytes[i + len + 5] !== 0x03) out.push({ error: 'bad_end' });
    else if (crc16(bytes, i + 1, i + 3 + len) !== crc) out.push({ error: 'bad_crc' });
    else {
      out.push({ frame: hex(bytes.subarray(i, i + len + 6)) });
      i += len + 6;
      continue;
    }
    i++;
  }
  return out;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const concat = (parts: readonly Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));

function outcome(event: DecoderEvent): Outcome {
  return event.kind === 'frame' ? { frame: hex(encodeFrame(event.seq, event.type, event.payload)) } : { error: event.error };
}

/** Feeds bytes split at the given cut points; checks the buffer bound after every push. */
function run(bytes: Uint8Array, cuts: readonly number[]): Outcome[] {
  const decoder = new FrameDecoder();
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const events: DecoderEvent[] = [];
  let from = 0;
  for (const to of [...points, bytes.length]) {
    events.push(...decoder.push(bytes.subarray(from, to)));
    expect(decoder.bufferedBytes).toBeLessThan(MAX_FRAME_BYTES);
    from = Math.max(from, to);
  }
  return events.map(outcome);
}

const frameArb = fc.record({ seq: fc.integer({ min: 0, max: 255 }), type: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 64 }) }).map(({ seq, type, payload }) => encodeFrame(seq, type, payload));
/** Bytes biased towards STX, ETX and small LEN bytes, so fake candidates are common. */
const noisyByte = fc.oneof(fc.constantFrom(0x02, 0x03, 0x00, 0x01, 0x04), fc.integer({ min: 0, max: 255 }));
const noisy = fc.array(noisyByte, { maxLength: 40 }).map((b) => Uint8Array.from(b));
const quietGarbage = fc
  .array(
    fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x02),
    { maxLength: 20 },
  )
  .map((b) => Uint8Array.from(b));
const cutsArb = fc.array(fc.nat(), { maxLength: 30 });
/** No STX, and long enough to complete and reject any candidate still pending. */
const FLUSH = new Uint8Array(MAX_FRAME_BYTES);

function framesOf(outcomes: readonly Outcome[]): string[] {
  return outcomes.flatMap((o) => ('frame' in o ? [o.frame] : []));
}

describe('FrameDecoder properties', () => {
  /** Runs set aside as accidental CRC matches; a handful would mean a decoder bug, not bad luck. */
  const skipped = { garbage: 0, flips: 0 };

  it('matches the reference decoder on noisy bytes under any chunking, and never throws', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(noisy, frameArb), { maxLength: 12 }), cutsArb, (parts, cuts) => {
        const bytes = concat(parts);
        expect(run(bytes, cuts)).toEqual(reference(bytes));
      }),
      { numRuns: 400 },
    );
  });

  it('random bytes: never throws, emitted frames occur in the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), cutsArb, (bytes, cuts) => {
        const input = Buffer.from(bytes);
        for (const frame of framesOf(run(bytes, cuts))) expect(input.indexOf(Buffer.from(frame, 'hex'))).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });

  it('frames between STX-free garbage come out exactly once, in order, with no errors', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(quietGarbage, frameArb), { maxLength: 10 }), quietGarbage, cutsArb, (pairs, tail, cuts) => {
        const bytes = concat([...pairs.flat(), tail]);
        expect(run(bytes, cuts)).toEqual(pairs.map(([, frame]) => ({ frame: hex(frame) })));
      }),
    );
  });

  it('frames between garbage with fake STX bytes are all found once the stream moves on', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(noisy, frameArb), { maxLength: 8 }), cutsArb, (pairs, cuts) => {
        const injected = pairs.map(([, frame]) => hex(frame));
        const emitted = framesOf(run(concat([...pairs.flat(), FLUSH]), cuts));
        // Without byte stuffing a garbage STX can, with odds of about 2^-24, frame a valid CRC
        // that swallows a real frame; the spec accepts that, so such runs are not judged here.
        if (emitted.some((frame) => !injected.includes(frame))) {
          skipped.garbage++;
          return;
        }
        expect(emitted).toEqual(injected);
      }),
      { numRuns: 300 },
    );
    expect(skipped.garbage).toBeLessThan(3);
  });

  it('a truncated stream emits exactly the frames that ended before the cut', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.nat(), (frames, cutSeed) => {
        const bytes = concat(frames);
        const cut = cutSeed % (bytes.length + 1);
        const ends = frames.map((_, i) => frames.slice(0, i + 1).reduce((n, f) => n + f.length, 0));
        const expected = frames.filter((_, i) => (ends[i] as number) <= cut).map((f) => ({ frame: hex(f) }));
        expect(run(bytes.subarray(0, cut), [])).toEqual(expected);
      }),
    );
  });

  it('up to 3 bit flips: corrupted frames are never emitted, untouched frames always are', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 3 }), cutsArb, (frames, flips, cuts) => {
        const original = concat(frames);
        const bytes = Uint8Array.from(original);
        for (const [at, bit] of flips) {
          const index = at % bytes.length;
          bytes[index] = (bytes[index] as number) ^ (1 << bit);
        }
        // A byte flipped twice at the same bit is back as it was: only bytes that changed count as touched.
        const touched = new Set<number>();
        bytes.forEach((byte, i) => {
          if (byte !== original[i]) touched.add(i);
        });
        let offset = 0;
        const untouched: string[] = [];
        for (const frame of frames) {
          if (![...touched].some((i) => i >= offset && i < offset + frame.length)) untouched.push(hex(frame));
          offset += frame.length;
        }
        const input = Buffer.from(bytes);
        const emitted = framesOf(run(concat([bytes, FLUSH]), cuts));
        // Emitted frames are re-encoded with a fresh CRC, so finding them in the input proves their CRC matched there.
        for (const frame of emitted) expect(input.indexOf(Buffer.from(frame, 'hex'))).toBeGreaterThanOrEqual(0);
        if (emitted.some((frame) => !untouched.includes(frame))) {
          skipped.flips++;
          return;
        }
        expect(emitted).toEqual(untouched);
      }),
      { numRuns: 300 },
    );
    // Only a CRC-16 collision (a corrupted LEN framing a random span whose CRC happens to match, about
    // 1 in 65,536 per such span) may still slip through; three in one run would mean a real fault.
    expect(skipped.flips).toBeLessThan(3);
  });

  it('out-of-range LEN is reported as oversize/undersize and the next frame is still found', () => {
    // A LEN byte equal to STX starts a new candidate inside the rejected header, which then waits for
    // its own (in-range) length: that stall is the case the line-silence rule in PROTOCOL.md covers,
    // tested with the link. Here the LEN bytes avoid STX so the next frame is found at once.
    const lenArb = fc.oneof(fc.integer({ min: 0, max: 1 }), fc.integer({ min: MAX_PAYLOAD + 3, max: 0xffff })).filter((len) => len >> 8 !== 0x02 && (len & 0xff) !== 0x02);
    fc.assert(
      fc.property(
        lenArb,
        fc.uint8Array({ maxLength: 20 }).map((b) => b.map((x) => (x === 2 ? 0 : x))),
        frameArb,
        cutsArb,
        (len, rest, frame, cuts) => {
          const bytes = concat([Uint8Array.of(0x02, len >> 8, len & 0xff), rest, frame]);
          expect(run(bytes, cuts)).toEqual([{ error: len < 2 ? 'undersize' : 'oversize' }, { frame: hex(frame) }]);
        },
      ),
    );
  });

  it('reports the SEQ of a candidate with a complete header, for the NAK', () => {
    const frame = encodeFrame(42, 0x10, new Uint8Array(16));
    frame[frame.length - 2] = (frame[frame.length - 2] as number) ^ 0xff;
    expect(new FrameDecoder().push(frame)[0]).toEqual({ kind: 'error', error: 'bad_crc', seq: 42 });
    expect(new FrameDecoder().push(Uint8Array.of(0x02, 0xff, 0xff))).toEqual([{ kind: 'error', error: 'oversize' }]);
  });
});

describe('encodeFrame and decodeFrame refusals', () => {
  it.each([
    ['seq 256', () => encodeFrame(256, 1, new Uint8Array(0)), 'EDGEPAY_FRAME_BAD_HEADER'],
    ['seq -1', () => encodeFrame(-1, 1, new Uint8Array(0)), 'EDGEPAY_FRAME_BAD_HEADER'],
    ['type 1.5', () => encodeFrame(0, 1.5, new Uint8Array(0)), 'EDGEPAY_FRAME_BAD_HEADER'],
    ['payload 1025 bytes', () => encodeFrame(0, 1, new Uint8Array(MAX_PAYLOAD + 1)), 'EDGEPAY_FRAME_OVERSIZE'],
    ['bad CRC', () => decodeFrame(Uint8Array.of(0x02, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x03)), 'EDGEPAY_FRAME_BAD_CRC'],
    ['bad end', () => decodeFrame(Uint8Array.of(0x02, 0x00, 0x02, 0x00, 0x06, 0x8a, 0x66, 0x04)), 'EDGEPAY_FRAME_BAD_END'],
    ['extra byte', () => decodeFrame(Uint8Array.of(0x02, 0x00, 0x02, 0x00, 0x06, 0x8a, 0x66, 0x03, 0x00)), 'EDGEPAY_FRAME_BAD_LENGTH'],
  ] as const)('%s', (_name, action, code) => {
    expect(action).toThrow(expect.objectContaining({ code }));
    try {
      action();
    } catch (error) {
      expect(isProtocolError(error, code)).toBe(true);
    }
  });
});
