import { generateKeyPairSync } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultRulesConfig, parseRules } from '../src/authorize/index.js';
import { verifyChain } from '../src/journal/index.js';
import { type RandomSource, SeededRandom } from '../src/platform/random.js';
import { SimNetwork } from '../src/sim/network.js';
import { SimScheduler } from '../src/sim/scheduler.js';
import type { SimLaneOptions } from '../src/sim/sim-lane.js';
import { SimNode } from '../src/sim/sim-node.js';
import { SECTOR_BYTES, tearWrite } from '../src/sim/torn-write.js';
import { captureCard } from '../src/card/capture.js';
import type { CardKeys } from '../src/card/keys.js';
import { sodiumReady } from '../src/card/seal.js';
import { loadReaderProfile } from '../src/reader/profile.js';
import { ReaderSimulator } from '../src/reader/simulator/simulator.js';
import { SimSerialLine } from '../src/sim/sim-serial-line.js';
import { cardFacts } from './support/cards.js';
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
        expect(torn.whole).toBe(torn.bytes.equals(after));
        expect(torn.whole).toBe(torn.sectorsLost === 0);
      }),
      { numRuns: 300 },
    );
  });
});

const rules = parseRules({ ...defaultRulesConfig(), perCard: { ...defaultRulesConfig().perCard, maxCount: 1_000 } });

/** One simulated box on a quiet broker, with no centre; its lane's reader on `line` when one is given. */
function box(scheduler = new SimScheduler(Date.UTC(2026, 10, 28, 9)), lane?: SimLaneOptions): { node: SimNode; scheduler: SimScheduler } {
  const network = new SimNetwork(scheduler, new SeededRandom(1), { loss: 0, duplicate: 0, maxDelayMs: 0 });
  const pair = generateKeyPairSync('ed25519');
  const node = new SimNode({
    id: 'lane-1',
    dir: tempDir(),
    fleet: 'sim',
    store: 'store-1',
    rules,
    signingKey: pair.privateKey,
    keys: new Map([['lane-1', pair.publicKey]]),
    scheduler,
    network,
    centre: { send: () => Promise.reject(new Error('this box has no centre')) },
    ...(lane === undefined ? {} : { lane }),
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
    const torn = await node.crashTearing(request(13), fixedRandom((max) => (draw++ === 0 ? 4 : draw === 2 ? max - 1 : draw % 2 === 0 ? 0 : max - 1)));
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
    const torn = await node.crashTearing(request(13), fixedRandom((max) => max - 1));
    expect(torn?.whole).toBe(true);
    node.start();
    expect(node.headSeq()).toBe(13);
    const again = await node.pay(request(13));
    expect(again?.entry?.seq).toBe(13);
    expect(node.headSeq()).toBe(13);
    node.stop();
    expect(existsSync(`${node.journalPath}.lock`)).toBe(false);
  });
});

describe('a simulated lane whose reader is unplugged', () => {
  it('ends the payment waiting for its card without a decision, records nothing, and takes the next one once the reader is back', async () => {
    await sodiumReady();
    const scheduler = new SimScheduler(Date.UTC(2026, 10, 28, 9));
    const profile = loadReaderProfile('edgepay-sim');
    const pans = new Set<string>();
    const keys: CardKeys = { tokenKey: Buffer.alloc(32, 1), centrePublicKey: new Uint8Array(32).fill(9) };
    // The first card is slow to come: the cable is pulled while the reader waits for it.
    const line: SimSerialLine = new SimSerialLine(scheduler, '/dev/sim-reader', profile.serial.baudRate, (end) => {
      const firmware = new ReaderSimulator(end, { profile, cards: ['slow', 'good'], seed: 5, status: () => undefined, unplug: () => line.unplug(), timers: scheduler.timers, now: () => new Date(scheduler.clock.wallMs()), unpredictable: () => 7 });
      firmware.start();
      return firmware;
    });
    const { node } = box(scheduler, { line, profileName: 'edgepay-sim', profile, capture: (raw) => (pans.add(raw.pan), captureCard(raw, keys)) });
    // The reader's own HELLO at power-on found no one listening; the node's asking gets it ready.
    await scheduler.runUntil(scheduler.now + 5_000);
    const body = (key: string) => ({ idempotencyKey: key, lane: 'lane-1', amountMinor: 1_250, currency: 'EUR', reference: key });

    /** Runs simulated time until the promise settles (at most a minute of it). */
    const settled = async <T>(promise: Promise<T>): Promise<T> => {
      let done = false;
      void promise.then(
        () => (done = true),
        () => (done = true),
      );
      for (let waited = 0; !done && waited < 60_000; waited += 100) await scheduler.runUntil(scheduler.now + 100);
      return promise;
    };
    const first = node.payAtLane(body('sale-1'));
    await scheduler.runUntil(scheduler.now + 500);
    line.unplug();
    expect(await settled(first)).toMatchObject({ status: 'failed', decision: null, journalSeq: null, error: { code: 'EDGEPAY_READER_LOST' } });
    await expect(node.payAtLane(body('sale-2'))).rejects.toMatchObject({ code: 'EDGEPAY_READER_UNAVAILABLE' });
    expect(node.headSeq()).toBe(0);

    line.replug();
    await scheduler.runUntil(scheduler.now + 3_000);
    expect(await settled(node.payAtLane(body('sale-2')))).toMatchObject({ status: 'approved', journalSeq: 1 });
    expect(pans.size).toBe(1);
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
    const heard = new Map<string, string[]>([['a', []], ['b', []], ['c', []]]);
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
