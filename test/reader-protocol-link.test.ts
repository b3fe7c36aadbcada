/**
 * Link layer tests. Unit cases drive one Link by hand; the property tests wire two Links back to
 * back through a simulated serial line that drops, duplicates, corrupts, delays and adds noise,
 * all in virtual time so every run is reproducible from fast-check's seed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, isProtocolError, Link, MessageType, type DataMessage, type LinkDownReason, type LinkOptions, type LinkTimers } from '../src/reader/protocol/index.js';

/** Virtual time: timers and deliveries run in (time, creation) order, nothing runs by itself. */
class Sim implements LinkTimers {
  nowMs = 0;
  private nextId = 0;
  private readonly pending = new Map<number, { atMs: number; run: () => void }>();

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = ++this.nextId;
    this.pending.set(id, { atMs: this.nowMs + delayMs, run: callback });
    return id;
  }

  clearTimeout(timer: unknown): void {
    if (typeof timer === 'number') this.pending.delete(timer);
  }

  at(atMs: number, run: () => void): void {
    this.setTimeout(run, atMs - this.nowMs);
  }

  /** Runs events up to limitMs (or until none are left); returns false if the event cap was hit. */
  run(limitMs = Number.POSITIVE_INFINITY, maxEvents = 100_000): boolean {
    for (let n = 0; n < maxEvents; n++) {
      let next: [number, { atMs: number; run: () => void }] | undefined;
      for (const entry of this.pending) if (!next || entry[1].atMs < next[1].atMs) next = entry;
      if (!next || next[1].atMs > limitMs) {
        if (Number.isFinite(limitMs)) this.nowMs = Math.max(this.nowMs, limitMs);
        return true;
      }
      this.pending.delete(next[0]);
      this.nowMs = next[1].atMs;
      next[1].run();
    }
    return false;
  }
}

const ACK_TIMEOUT_MS = 100;

function harness(overrides: Partial<LinkOptions> = {}) {
  const sim = new Sim();
  const writes: Uint8Array[] = [];
  const received: DataMessage[] = [];
  const downs: LinkDownReason[] = [];
  const link = new Link({
    write: (bytes) => writes.push(bytes),
    onMessage: (msg) => received.push(msg),
    onLinkDown: (reason) => downs.push(reason),
    ackTimeoutMs: ACK_TIMEOUT_MS,
    retransmissions: 3,
    timers: sim,
    ...overrides,
  });
  return { sim, writes, received, downs, link };
}

const frames = (writes: readonly Uint8Array[]) => writes.map((w) => decodeFrame(w));
const ack = (seq: number) => encodeFrame(seq, MessageType.ACK, new Uint8Array(0));
const nak = (seq: number, reason = 1) => encodeFrame(seq, MessageType.NAK, Uint8Array.of(reason));
const cancel = (txnId: number): DataMessage => ({ kind: 'CANCEL', txnId });
const cancelFrame = (seq: number, txnId: number) => encodeFrame(seq, MessageType.CANCEL, Uint8Array.of(0, 0, 0, txnId));
const withByte = (bytes: Uint8Array, index: number, value: number) => {
  const copy = bytes.slice();
  copy[index < 0 ? copy.length + index : index] = value;
  return copy;
};
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function outcome(promise: Promise<void>): Promise<string> {
  return promise.then(
    () => 'ok',
    (error: unknown) => (isProtocolError(error) ? error.code : 'other'),
  );
}

describe('Link sending', () => {
  it('retransmits the same SEQ on ACK timeout, then reports the link down after the budget', async () => {
    const { sim, writes, downs, link } = harness();
    const result = outcome(link.send(cancel(7)));
    sim.run(ACK_TIMEOUT_MS * 3 + 1);
    expect(writes).toHaveLength(4);
    expect(new Set(writes.map((w) => Buffer.from(w).toString('hex'))).size).toBe(1);
    expect(downs).toEqual([]);
    sim.run();
    expect(sim.nowMs).toBe(ACK_TIMEOUT_MS * 4);
    expect(downs).toEqual(['retransmissions_exhausted']);
    expect(await result).toBe('EDGEPAY_LINK_DOWN');
    expect(await outcome(link.send(cancel(8)))).toBe('EDGEPAY_LINK_DOWN');
  });

  it('retransmits at once on a NAK for the outstanding SEQ and ignores ACK/NAK for another SEQ', async () => {
    const { writes, link } = harness();
    const result = outcome(link.send(cancel(7)));
    link.receive(nak(1));
    link.receive(ack(1));
    expect(writes).toHaveLength(1);
    link.receive(nak(0, 2));
    expect(writes).toHaveLength(2);
    expect(writes[1]).toEqual(writes[0]);
    link.receive(ack(0));
    expect(await result).toBe('ok');
  });

  it('a NAK spends the budget like a timeout', async () => {
    const { writes, downs, link } = harness({ retransmissions: 1 });
    const result = outcome(link.send(cancel(7)));
    link.receive(nak(0));
    link.receive(nak(0));
    expect(writes).toHaveLength(2);
    expect(downs).toEqual(['retransmissions_exhausted']);
    expect(await result).toBe('EDGEPAY_LINK_DOWN');
  });

  it.each([
    ['unknown type', 4],
    ['malformed payload', 5],
  ])('a NAK for %s fails that send at once, without retransmitting, and the link goes on', async (_name, reason) => {
    const { writes, downs, link } = harness({ retransmissions: 3 });
    const refused = link.send(cancel(7)).catch((error: unknown) => error);
    const next = outcome(link.send(cancel(8)));
    link.receive(nak(0, reason));
    const error = await refused;
    expect(isProtocolError(error, 'EDGEPAY_LINK_REFUSED')).toBe(true);
    expect(isProtocolError(error) && error.details).toMatchObject({ type: MessageType.CANCEL, nakReason: reason });
    // The next frame went out at once, under the next SEQ; nothing was sent again and the link is up.
    expect(frames(writes).map((f) => f.seq)).toEqual([0, 1]);
    link.receive(ack(1));
    expect(await next).toBe('ok');
    expect(downs).toEqual([]);
  });

  it('stop and wait: one frame in flight, SEQ increments per new frame and wraps at 256', async () => {
    const { writes, link } = harness({ maxQueuedSends: 300 });
    const results = Array.from({ length: 258 }, (_, i) => link.send(cancel(i & 0xff)));
    for (let i = 0; i < 258; i++) {
      expect(writes).toHaveLength(i + 1);
      link.receive(ack(i & 0xff));
    }
    await Promise.all(results);
    expect(frames(writes).map((f) => f.seq)).toEqual(Array.from({ length: 258 }, (_, i) => i & 0xff));
  });

  it('refuses sends beyond the queue bound with EDGEPAY_LINK_OVERLOADED', async () => {
    const { link } = harness({ maxQueuedSends: 2 });
    const results = [1, 2, 3, 4].map((i) => outcome(link.send(cancel(i))));
    expect(await results[3]).toBe('EDGEPAY_LINK_OVERLOADED');
    link.close();
    expect(await Promise.all(results.slice(0, 3))).toEqual(['EDGEPAY_LINK_CLOSED', 'EDGEPAY_LINK_CLOSED', 'EDGEPAY_LINK_CLOSED']);
  });

  it('down rejects the queued sends too; close never reports down', async () => {
    const a = harness({ retransmissions: 0 });
    const queued = [1, 2].map((i) => outcome(a.link.send(cancel(i))));
    a.sim.run();
    expect(await Promise.all(queued)).toEqual(['EDGEPAY_LINK_DOWN', 'EDGEPAY_LINK_DOWN']);
    const b = harness();
    const pending = outcome(b.link.send(cancel(1)));
    b.link.close();
    b.sim.run();
    expect(await pending).toBe('EDGEPAY_LINK_CLOSED');
    expect(b.downs).toEqual([]);
  });

  it('a throwing transport takes the link down', async () => {
    const { link, downs } = harness({
      write: () => {
        throw new Error('EIO');
      },
    });
    expect(await outcome(link.send(cancel(1)))).toBe('EDGEPAY_LINK_DOWN');
    expect(downs).toEqual(['write_failed']);
  });

  it('ACK and NAK cannot be sent by the caller; invalid messages are refused', async () => {
    const { link, writes } = harness();
    expect(await outcome(link.send({ kind: 'ACK' } as unknown as DataMessage))).toBe('EDGEPAY_MESSAGE_INVALID');
    expect(await outcome(link.send(cancel(-1)))).toBe('EDGEPAY_MESSAGE_INVALID');
    expect(writes).toEqual([]);
  });
});

describe('Link receiving', () => {
  it('ACKs and delivers a frame; a duplicate is ACKed again and not delivered', () => {
    const { writes, received, link } = harness();
    link.receive(cancelFrame(5, 9));
    link.receive(cancelFrame(5, 9));
    expect(received).toEqual([cancel(9)]);
    expect(frames(writes).map((f) => [f.seq, f.type])).toEqual([
      [5, 0x06],
      [5, 0x06],
    ]);
    link.receive(cancelFrame(6, 10));
    expect(received).toEqual([cancel(9), cancel(10)]);
  });

  it.each([
    ['bad CRC', withByte(cancelFrame(4, 1), -2, 0x55), 4, 1],
    ['bad end byte', withByte(cancelFrame(4, 1), -1, 0x00), 4, 2],
    ['unknown type', encodeFrame(4, 0x55, new Uint8Array(0)), 4, 4],
    ['malformed payload', encodeFrame(4, MessageType.CANCEL, Uint8Array.of(1, 2, 3)), 4, 5],
  ])('NAKs %s with the right SEQ and reason and delivers nothing', (_name, bytes, seq, reason) => {
    const { writes, received, link } = harness();
    link.receive(bytes);
    expect(received).toEqual([]);
    expect(frames(writes).map((f) => [f.seq, f.type, [...f.payload]])).toEqual([[seq, MessageType.NAK, [reason]]]);
  });

  it('sends no NAK for bytes whose SEQ it could not read: a NAK for SEQ 0 would spend a real frame 0 budget', () => {
    const { writes, received, link } = harness();
    link.receive(Uint8Array.of(0x02, 0xff, 0xff));
    link.receive(Uint8Array.of(0x02, 0x00, 0x01));
    expect(received).toEqual([]);
    expect(writes).toEqual([]);
  });

  it('NAKs a damaged frame once, however many rejections the resync inside it finds, until a frame is accepted or ackMs passes', () => {
    const { sim, writes, received, link } = harness();
    // A bad CRC, then a bad end byte found while the decoder rescans (its STX, LEN and SEQ intact): one NAK.
    link.receive(withByte(cancelFrame(4, 1), -2, 0x55));
    link.receive(withByte(cancelFrame(5, 2), -1, 0x00));
    expect(frames(writes).map((f) => [f.seq, f.type, [...f.payload]])).toEqual([[4, MessageType.NAK, [1]]]);
    // An accepted frame ends the hold: the next damaged frame is NAKed.
    link.receive(cancelFrame(4, 1));
    link.receive(withByte(cancelFrame(5, 2), -1, 0x00));
    expect(frames(writes).map((f) => [f.seq, f.type])).toEqual([
      [4, MessageType.NAK],
      [4, MessageType.ACK],
      [5, MessageType.NAK],
    ]);
    // So does ackMs without a frame.
    sim.run(ACK_TIMEOUT_MS);
    link.receive(withByte(cancelFrame(6, 3), -2, 0x55));
    expect(frames(writes).map((f) => [f.seq, f.type])).toHaveLength(4);
    expect(received).toEqual([cancel(1)]);
  });

  it('a frame refused as malformed does not count as accepted for duplicate detection', () => {
    const { received, link } = harness();
    link.receive(encodeFrame(4, MessageType.CANCEL, Uint8Array.of(1, 2, 3)));
    link.receive(cancelFrame(4, 1));
    expect(received).toEqual([cancel(1)]);
  });

  it('never answers an ACK or NAK, even a malformed one', () => {
    const { writes, link } = harness();
    link.receive(encodeFrame(0, MessageType.ACK, Uint8Array.of(1)));
    link.receive(encodeFrame(0, MessageType.NAK, new Uint8Array(0)));
    link.receive(ack(3));
    link.receive(nak(3));
    expect(writes).toEqual([]);
  });

  it('works over a synchronous transport (ACK delivered inside write)', async () => {
    const got: DataMessage[] = [];
    const peers: { a?: Link; b?: Link } = {};
    const options = (onMessage: (m: DataMessage) => void, peer: () => Link | undefined): LinkOptions => ({
      write: (bytes) => peer()?.receive(bytes),
      onMessage,
      onLinkDown: () => {},
      ackTimeoutMs: ACK_TIMEOUT_MS,
      retransmissions: 0,
      timers: new Sim(),
    });
    peers.a = new Link(
      options(
        () => {},
        () => peers.b,
      ),
    );
    peers.b = new Link(
      options(
        (m) => got.push(m),
        () => peers.a,
      ),
    );
    await Promise.all([1, 2, 3].map((i) => peers.a?.send(cancel(i))));
    expect(got).toEqual([cancel(1), cancel(2), cancel(3)]);
  });
});

type Fault =
  | { kind: 'deliver'; latencyMs: number }
  | { kind: 'drop' }
  | { kind: 'duplicate'; latencyMs: number }
  | { kind: 'corrupt'; latencyMs: number; bit: number }
  | { kind: 'noise'; latencyMs: number; bytes: Uint8Array }
  | { kind: 'split'; latencyMs: number; at: number };

const latency = fc.integer({ min: 1, max: ACK_TIMEOUT_MS * 2 });
const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('deliver' as const), latencyMs: latency }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), latencyMs: latency }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('corrupt' as const), latencyMs: latency, bit: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('noise' as const), latencyMs: latency, bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('split' as const), latencyMs: latency, at: fc.nat() }) },
);
const messageArb: fc.Arbitrary<DataMessage> = fc.oneof(
  fc.record({ kind: fc.constant('CANCEL' as const), txnId: fc.nat() }),
  fc.record({ kind: fc.constant('CARD_DATA' as const), txnId: fc.nat(), tlv: fc.uint8Array({ maxLength: 200 }) }),
  fc.constant({ kind: 'STATUS_REQUEST' as const }),
);

/** A serial line in one direction: FIFO, faults taken in turn from the schedule, clean once it runs out. */
function line(sim: Sim, schedule: readonly Fault[], deliver: () => Link) {
  let turn = 0;
  let lastAtMs = 0;
  const send = (bytes: Uint8Array, latencyMs: number) => {
    lastAtMs = Math.max(lastAtMs, sim.nowMs + latencyMs);
    sim.at(lastAtMs, () => deliver().receive(bytes));
  };
  return (bytes: Uint8Array): void => {
    const fault: Fault = schedule[turn++] ?? { kind: 'deliver', latencyMs: 1 };
    switch (fault.kind) {
      case 'drop':
        return;
      case 'deliver':
        return send(bytes, fault.latencyMs);
      case 'duplicate':
        send(bytes, fault.latencyMs);
        return send(bytes, fault.latencyMs);
      case 'corrupt': {
        const copy = bytes.slice();
        const bit = fault.bit % (copy.length * 8);
        copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
        return send(copy, fault.latencyMs);
      }
      case 'noise':
        send(fault.bytes, fault.latencyMs);
        return send(bytes, fault.latencyMs);
      case 'split': {
        const at = fault.at % (bytes.length + 1);
        send(bytes.subarray(0, at), fault.latencyMs);
        return send(bytes.subarray(at), fault.latencyMs);
      }
    }
  };
}

describe('two Links over a faulty line', () => {
  it('deliver every message exactly once and in order, or report the link down', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(messageArb, { maxLength: 8 }),
        fc.array(messageArb, { maxLength: 8 }),
        fc.array(faultArb, { maxLength: 40 }),
        fc.array(faultArb, { maxLength: 40 }),
        fc.integer({ min: 0, max: 6 }),
        async (fromA, fromB, faultsAB, faultsBA, retransmissions) => {
          const sim = new Sim();
          const peers: { a?: Link; b?: Link } = {};
          const got = { a: [] as DataMessage[], b: [] as DataMessage[] };
          const down = { a: 0, b: 0 };
          const make = (name: 'a' | 'b', write: (bytes: Uint8Array) => void) =>
            new Link({ write, onMessage: (m) => got[name].push(m), onLinkDown: () => down[name]++, ackTimeoutMs: ACK_TIMEOUT_MS, retransmissions, timers: sim });
          peers.a = make(
            'a',
            line(sim, faultsAB, () => peers.b as Link),
          );
          peers.b = make(
            'b',
            line(sim, faultsBA, () => peers.a as Link),
          );
          const sentA = fromA.map((m) => outcome((peers.a as Link).send(m)));
          const sentB = fromB.map((m) => outcome((peers.b as Link).send(m)));
          expect(sim.run()).toBe(true);
          await settle();
          for (const [sent, results, receivedByPeer, wentDown] of [
            [fromA, await Promise.all(sentA), got.b, down.a],
            [fromB, await Promise.all(sentB), got.a, down.b],
          ] as const) {
            expect(wentDown).toBeLessThanOrEqual(1);
            expect(receivedByPeer).toEqual(sent.slice(0, receivedByPeer.length));
            const acked = results.filter((r) => r === 'ok').length;
            expect(results.slice(0, acked).every((r) => r === 'ok')).toBe(true);
            expect(results.slice(acked).every((r) => r === 'EDGEPAY_LINK_DOWN')).toBe(true);
            expect(receivedByPeer.length - acked).toBeGreaterThanOrEqual(0);
            expect(receivedByPeer.length - acked).toBeLessThanOrEqual(1);
            if (wentDown === 0) expect(acked).toBe(sent.length);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with a budget that outlasts the faults, everything is delivered', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(messageArb, { minLength: 1, maxLength: 8 }),
        fc.array(
          faultArb.filter((f) => f.kind !== 'corrupt' && f.kind !== 'noise'),
          { maxLength: 20 },
        ),
        fc.array(
          faultArb.filter((f) => f.kind !== 'corrupt' && f.kind !== 'noise'),
          { maxLength: 20 },
        ),
        async (messages, faultsAB, faultsBA) => {
          const sim = new Sim();
          const peers: { a?: Link; b?: Link } = {};
          const got: DataMessage[] = [];
          const options = { onLinkDown: () => {}, ackTimeoutMs: ACK_TIMEOUT_MS * 3, retransmissions: 45, timers: sim };
          peers.a = new Link({ ...options, write: line(sim, faultsAB, () => peers.b as Link), onMessage: () => {} });
          peers.b = new Link({ ...options, write: line(sim, faultsBA, () => peers.a as Link), onMessage: (m) => got.push(m) });
          const results = messages.map((m) => outcome((peers.a as Link).send(m)));
          expect(sim.run()).toBe(true);
          await settle();
          expect(await Promise.all(results)).toEqual(messages.map(() => 'ok'));
          expect(got).toEqual(messages);
        },
      ),
      { numRuns: 200 },
    );
  });
});
