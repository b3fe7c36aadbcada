import { generateKeyPairSync } from 'node:crypto';
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultRulesConfig } from '../src/authorize/index.js';
import { lockOwner, verifyChain } from '../src/journal/index.js';
import { type RandomSource, SeededRandom } from '../src/platform/random.js';
import { SimNetwork } from '../src/sim/network.js';
import type { SimCardKind } from '../src/reader/simulator/cards.js';
import { SimScheduler } from '../src/sim/scheduler.js';
import type { SimLaneOptions } from '../src/sim/sim-lane.js';
import { SimNode } from '../src/sim/sim-node.js';
import { SECTOR_BYTES, tearWrite } from '../src/sim/torn-write.js';
import { sodiumReady } from '../src/card/seal.js';
import { cardFacts } from './support/cards.js';
import { resultsDisplayed, settled, testLane, transactionsStarted } from './support/sim-readers.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-sim-faults-');

/** Draws that always answer the same fraction of the range: the top persists every sector, the bottom none. */
function fixedRandom(fraction: (max: number) => number): RandomSource {
  return { bytes: (n) => new Uint8Array(n), int: (max) => Math.min(max - 1, Math.max(0, fraction(max))) };
}

describe('a torn write (sectors of an unsynced write persisted in any combination)', () => {
  it('leaves every sector as it was or as the write had it, zeros only past the old end, and is whole only when nothing was lost', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3_000 }), fc.uint8Array({ maxLength: 4_000 }), fc.integer(), (beforeBytes, extra, seed) => {
        const before = Buffer.from(beforeBytes);
        // A write changes some of the file and may grow it, as appending WAL frames does.
        const after = Buffer.concat([before, Buffer.from(extra)]);
        for (let i = 0; i < after.byteLength; i += 700) after[i] = (after[i]! + 1) % 256;
        const torn = tearWrite(before, after, new SeededRandom(seed >>> 0));
        expect(torn.bytes.byteLength).toBeGreaterThanOrEqual(before.byteLength);
        expect(torn.bytes.byteLength).toBeLessThanOrEqual(after.byteLength);
        for (let start = 0; start < torn.bytes.byteLength; start += SECTOR_BYTES) {
          const sector = torn.bytes.subarray(start, start + SECTOR_BYTES);
          const asAfter = sector.equals(after.subarray(start, start + sector.byteLength));
          const oldPart = before.subarray(start, start + SECTOR_BYTES);
          const asBefore = sector.subarray(0, oldPart.byteLength).equals(oldPart) && sector.subarray(oldPart.byteLength).every((b) => b === 0);
          expect(asAfter || asBefore).toBe(true);
        }
        // Whole means every sector of the write persisted. A lost sector may still read as the write
        // had it (new bytes that were zeros, or equal to the old ones), so equal bytes do not make it whole.
        if (torn.whole) expect(torn.bytes.equals(after)).toBe(true);
        expect(torn.whole).toBe(torn.sectorsLost === 0);
      }),
      { numRuns: 300 },
    );
  });
});

const rules = { ...defaultRulesConfig(), perCard: { ...defaultRulesConfig().perCard, maxCount: 1_000 } };

/** One simulated box on a quiet broker, with no centre; with the lanes given, each with its reader on its own line. */
function box(scheduler = new SimScheduler(Date.UTC(2026, 10, 28, 9)), lanes: readonly SimLaneOptions[] = []): { node: SimNode; scheduler: SimScheduler } {
  const network = new SimNetwork(scheduler, new SeededRandom(1), { loss: 0, duplicate: 0, maxDelayMs: 0 });
  const pair = generateKeyPairSync('ed25519');
  const node = new SimNode({
    id: 'lane-1',
    dir: tempDir(),
    fleet: 'sim',
    store: 'store-1',
    rules,
    rulesPublicKey: generateKeyPairSync('ed25519').publicKey,
    signingKey: pair.privateKey,
    keys: new Map([['lane-1', pair.publicKey]]),
    scheduler,
    network,
    centre: { send: () => Promise.reject(new Error('this box has no centre')) },
    lanes,
  });
  node.start();
  return { node, scheduler };
}

describe('a simulated box killed and torn', () => {
  const request = (n: number) => ({ idempotencyKey: `pay-${n}`, amountMinor: 100 + n, currency: 'EUR', card: cardFacts(n), lane: 'lane-1', reference: `ref-${n}` });

  async function payMany(node: SimNode, count: number): Promise<void> {
    for (let n = 1; n <= count; n++) expect((await node.pay(request(n)))?.entry?.seq).toBe(n);
  }

  it('keeps the WAL a kill leaves (closing tidily would checkpoint it away) and comes back with every entry', async () => {
    const { node } = box();
    await payMany(node, 12);
    node.crash();
    expect(statSync(`${node.journalPath}-wal`).size).toBeGreaterThan(0);
    node.start();
    expect(node.headSeq()).toBe(12);
    node.stop();
  });

  it('drops a commit whose WAL sectors only partly reached the disk, and the chain still verifies', async () => {
    const { node } = box();
    await payMany(node, 12);
    // A chance of one half drawn, the file's new length kept whole, then every other sector persists.
    let draw = 0;
    const torn = await node.crashTearing(
      request(13),
      fixedRandom((max) => (draw++ === 0 ? 4 : draw === 2 ? max - 1 : draw % 2 === 0 ? 0 : max - 1)),
    );
    expect(torn?.whole).toBe(false);
    expect(torn?.sectorsWritten).toBeGreaterThan(0);
    expect(torn?.sectorsLost).toBeGreaterThan(0);
    node.start();
    expect(node.headSeq()).toBe(12);
    node.stop();
    const db = new Database(node.journalPath, { readonly: true });
    try {
      expect(verifyChain(db, { nodeId: 'lane-1' })).toMatchObject({ ok: true, headSeq: 12 });
    } finally {
      db.close();
    }
  });

  it('keeps a commit that reached the disk whole though no one heard its answer; asked again, it answers the same', async () => {
    const { node } = box();
    await payMany(node, 12);
    const torn = await node.crashTearing(
      request(13),
      fixedRandom((max) => max - 1),
    );
    expect(torn?.whole).toBe(true);
    node.start();
    expect(node.headSeq()).toBe(13);
    const again = await node.pay(request(13));
    expect(again?.entry?.seq).toBe(13);
    expect(node.headSeq()).toBe(13);
    node.stop();
    // Stopped, the node holds its journal no more (a file stays, held by no one).
    expect(lockOwner(node.journalPath)).toBeUndefined();
  });
});

describe('a simulated lane whose reader is unplugged', () => {
  it('ends the payment waiting for its card without a decision, records nothing, and takes the next one once the reader is back', async () => {
    await sodiumReady();
    const scheduler = new SimScheduler(Date.UTC(2026, 10, 28, 9));
    // The first card is slow to come: the cable is pulled while the reader waits for it.
    const lane = testLane(scheduler, 'lane-1', ['slow', 'good']);
    const { node } = box(scheduler, [lane.options]);
    // The reader's own HELLO at power-on found no one listening; the node's asking gets it ready.
    await scheduler.runUntil(scheduler.now + 5_000);
    const body = (key: string) => ({ idempotencyKey: key, lane: 'lane-1', amountMinor: 1_250, currency: 'EUR', reference: key });

    const first = node.payAtLane(body('sale-1'));
    await scheduler.runUntil(scheduler.now + 500);
    lane.line.unplug();
    expect(await settled(scheduler, first)).toMatchObject({ status: 'failed', decision: null, journalSeq: null, error: { code: 'EDGEPAY_READER_LOST' } });
    await expect(node.payAtLane(body('sale-2'))).rejects.toMatchObject({ code: 'EDGEPAY_READER_UNAVAILABLE' });
    expect(node.headSeq()).toBe(0);

    lane.line.replug();
    await scheduler.runUntil(scheduler.now + 3_000);
    expect(await settled(scheduler, node.payAtLane(body('sale-2')))).toMatchObject({ status: 'approved', journalSeq: 1 });
    expect(lane.pans.size).toBe(1);
    node.stop();
  });
});

describe('a simulated box whose lanes answer a key after a crash as they answered it before', () => {
  const CONFLICT = 'EDGEPAY_IDEMPOTENCY_CONFLICT';
  const sale = (key: string, lane = 'lane-1.1') => ({ idempotencyKey: key, lane, amountMinor: 1_250, currency: 'EUR', reference: key });
  const captured = (n: number) => ({ idempotencyKey: `card-on-file-${n}`, amountMinor: 500, currency: 'EUR', card: cardFacts(n), lane: 'lane-1.1', reference: `ref-${n}` });

  /** A box with its lanes' readers connected: the reader's HELLO at power-on found no one listening, the node's asking gets it ready. */
  async function laneBox(scripts: readonly (readonly SimCardKind[])[]): Promise<{ node: SimNode; scheduler: SimScheduler; lanes: ReturnType<typeof testLane>[] }> {
    await sodiumReady();
    const scheduler = new SimScheduler(Date.UTC(2026, 10, 28, 9));
    const lanes = scripts.map((cards, n) => testLane(scheduler, `lane-1.${n + 1}`, cards));
    const { node } = box(
      scheduler,
      lanes.map((lane) => lane.options),
    );
    await scheduler.runUntil(scheduler.now + 5_000);
    return { node, scheduler, lanes };
  }

  it('replays a 91 the full journal could not record after a restart, without a reader transaction, and refuses the key with another amount', async () => {
    const { node, scheduler, lanes } = await laneBox([['good', 'good']]);
    const lane = lanes[0]!;
    node.fillDisk();
    // Card-on-file payments use up what room the journal's last pages had: then nothing fits.
    let filled = false;
    for (let n = 1; n <= 500 && !filled; n++) filled = (await node.pay(captured(n)))?.entry === null;
    expect(filled).toBe(true);
    const head = node.headSeq();

    const declined = await settled(scheduler, node.payAtLane(sale('sale-91')));
    expect(declined).toMatchObject({ status: 'declined', decision: { approved: false, code: '91' }, journalSeq: null, error: { code: 'EDGEPAY_JOURNAL_FULL' } });
    expect(transactionsStarted(lane)).toBe(1);
    // The reader showed the decline the POS was given.
    expect(node.resultsShown).toEqual([{ lane: 'lane-1.1', key: 'sale-91', approved: false, code: '91', disk: 0 }]);

    node.crash();
    node.start();
    node.freeDisk();
    await scheduler.runUntil(scheduler.now + 3_000);
    const replayed = await settled(scheduler, node.payAtLane(sale('sale-91')));
    expect(replayed).toEqual(declined);
    await expect(node.payAtLane({ ...sale('sale-91'), amountMinor: 1_251 })).rejects.toMatchObject({ code: CONFLICT });
    expect(transactionsStarted(lane)).toBe(1);
    expect(node.resultsShown).toHaveLength(1);
    expect(node.headSeq()).toBe(head);
    // The disk has room again: a new key is a new payment, read and recorded.
    expect(await settled(scheduler, node.payAtLane(sale('sale-next')))).toMatchObject({ status: 'approved', journalSeq: head + 1 });
    // The disk dies: the checks learn which keys its journal held, so the 91's key is known to be free again.
    node.loseDisk();
    expect(node.deadDisks).toHaveLength(1);
    expect(node.deadDisks[0]!.has('sale-next')).toBe(true);
    expect(node.deadDisks[0]!.has('sale-91')).toBe(false);
    expect(node.disk).toBe(1);
  });

  it('answers a payment that was waiting for its card when the box crashed as failed, interrupted, after the restart', async () => {
    const { node, scheduler, lanes } = await laneBox([['slow', 'good']]);
    const lane = lanes[0]!;
    const waiting = node.payAtLane(sale('sale-waiting'));
    await scheduler.runUntil(scheduler.now + 500);
    expect(transactionsStarted(lane)).toBe(1);
    node.crash();
    await expect(waiting).rejects.toThrow(/died/);

    node.start();
    await scheduler.runUntil(scheduler.now + 3_000);
    const after = await settled(scheduler, node.payAtLane(sale('sale-waiting')));
    expect(after).toMatchObject({ status: 'failed', decision: null, journalSeq: null, error: { code: 'EDGEPAY_PAYMENT_INTERRUPTED' } });
    expect(await settled(scheduler, node.payAtLane(sale('sale-waiting')))).toEqual(after);
    // The key is the interrupted payment's: checked before the lane is, so even a lane this box lacks is a different body.
    await expect(node.payAtLane(sale('sale-waiting', 'lane-1.2'))).rejects.toMatchObject({ code: CONFLICT });
    expect(transactionsStarted(lane)).toBe(1);
    expect(node.headSeq()).toBe(0);
    expect(node.resultsShown).toEqual([]);
    node.stop();
  });

  it('runs both lanes from one key space: the same request joins, at the other lane or with another amount it is refused', async () => {
    const { node, scheduler, lanes } = await laneBox([['slow'], ['good']]);
    const [first, second] = [lanes[0]!, lanes[1]!];
    const original = node.payAtLane(sale('sale-twice'));
    await scheduler.runUntil(scheduler.now + 20);
    const joined = node.payAtLane(sale('sale-twice'));
    await expect(node.payAtLane(sale('sale-twice', 'lane-1.2'))).rejects.toMatchObject({ code: CONFLICT });
    await expect(node.payAtLane({ ...sale('sale-twice'), amountMinor: 99 })).rejects.toMatchObject({ code: CONFLICT });
    const answer = await settled(scheduler, original);
    expect(answer).toMatchObject({ status: 'approved', lane: 'lane-1.1', journalSeq: 1 });
    expect(await joined).toEqual(answer);
    // One transaction, one result, at the first lane's reader only; the second never heard of the key.
    await scheduler.runUntil(scheduler.now + 1_000);
    expect([transactionsStarted(first), resultsDisplayed(first)]).toEqual([1, 1]);
    expect([transactionsStarted(second), resultsDisplayed(second)]).toEqual([0, 0]);
    // Y3: approved offline, the box has no centre.
    expect(node.resultsShown).toEqual([{ lane: 'lane-1.1', key: 'sale-twice', approved: true, code: 'Y3', disk: 0 }]);
    // The second lane takes its own sales meanwhile.
    expect(await settled(scheduler, node.payAtLane(sale('sale-other', 'lane-1.2')))).toMatchObject({ status: 'approved', lane: 'lane-1.2', journalSeq: 2 });
    node.stop();
  });
});

describe('the simulation scheduler', () => {
  it('interrupts the next event between two of its real event-loop turns', async () => {
    for (let turn = 0; turn < SimScheduler.turnsPerEvent; turn++) {
      const scheduler = new SimScheduler(0);
      let steps = 0;
      let seen = -1;
      // An event whose work continues over several turns, as a group commit and the outbox pump do.
      scheduler.after(10, () => {
        const step = (): void => {
          steps++;
          if (steps < SimScheduler.turnsPerEvent) setImmediate(step);
        };
        setImmediate(step);
      });
      scheduler.interrupt(5, turn, () => {
        seen = steps;
      });
      await scheduler.runUntil(20);
      expect(seen).toBe(turn);
    }
    expect(() => new SimScheduler(0).interrupt(0, SimScheduler.turnsPerEvent, () => undefined)).toThrow(/turn must be a whole number from 0 to/);
  });
});

describe('the simulated broker between two nodes', () => {
  it('stops deliveries between a pair while both still reach the broker and the third node; healing resends the retained', async () => {
    const scheduler = new SimScheduler(0);
    const network = new SimNetwork(scheduler, new SeededRandom(3), { loss: 0, duplicate: 0, maxDelayMs: 5 });
    const heard = new Map<string, string[]>([
      ['a', []],
      ['b', []],
      ['c', []],
    ]);
    const ports = new Map([...heard.keys()].map((id) => [id, network.attach(id, ['#'], (topic) => heard.get(id)!.push(topic))]));
    network.cutBetween('a', 'b');
    // The broker acknowledges both: each sender still reaches it.
    const acked = Promise.all([ports.get('a')!.publish('journal/a', Buffer.from('1'), { qos: 1 }), ports.get('b')!.publish('status/b', Buffer.from('up'), { qos: 1, retain: true })]);
    await scheduler.runUntil(100);
    await acked;
    expect(heard.get('b')).not.toContain('journal/a');
    expect(heard.get('c')).toEqual(expect.arrayContaining(['journal/a', 'status/b']));
    expect(heard.get('a')).not.toContain('status/b');
    network.healBetween('b', 'a');
    await scheduler.runUntil(200);
    expect(heard.get('a')).toContain('status/b');
  });
});
