import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PeerExposure, storeExposure, ExposureState } from '../src/authorize/index.js';
import { Journal } from '../src/journal/index.js';
import { ManualClock } from '../src/platform/clock.js';
import { StandIn, type Outcome } from '../src/standin/index.js';
import { cardFacts } from './support/cards.js';
import { DAY_START_MS, rulesWith } from './support/stand-in.js';

const rules = rulesWith((c) => {
  c.perCard.maxCount = 3;
  c.perCard.maxAmountMinor = { EUR: 10_000, USD: 10_000, GBP: 10_000 };
  c.node.maxStoredCount = 10_000;
});

describe('peer exposure', () => {
  it("adds peers' approvals to a card window but not to the node's stored totals, and releases voids", () => {
    const own = new ExposureState();
    const peers = new PeerExposure();
    own.recordApproval({ seq: 1, token: 't', currency: 'EUR', amountMinor: 100, wallMs: 10 });
    peers.recordApproval({ origin: 'b', seq: 1, token: 't', currency: 'EUR', amountMinor: 200, wallMs: 20 });
    peers.recordApproval({ origin: 'c', seq: 1, token: 't', currency: 'GBP', amountMinor: 300, wallMs: 30 });
    peers.recordApproval({ origin: 'c', seq: 1, token: 't', currency: 'GBP', amountMinor: 300, wallMs: 30 });
    const view = storeExposure(own, peers);
    expect(view.cardWindow('t', 'EUR', 0)).toEqual({ count: 3, amountMinor: 300 });
    expect(view.cardWindow('t', 'EUR', 15)).toEqual({ count: 2, amountMinor: 200 });
    expect(view.nodeStored('EUR')).toEqual({ count: 1, amountMinor: 100 });
    peers.recordRelease('b', 1);
    expect(view.cardWindow('t', 'EUR', 0)).toEqual({ count: 2, amountMinor: 100 });
    peers.prune(31);
    expect(peers.size).toBe(0);
  });
});

/** Three lanes' nodes in one process, each with its own journal; `share` decides whether their replicas reach each other. */
function store(groups: readonly (readonly string[])[]) {
  const dir = mkdtempSync(join(tmpdir(), 'edgepay-store-'));
  const clock = new ManualClock(DAY_START_MS);
  const nodes = new Map<string, { journal: Journal; standIn: StandIn }>();
  for (const id of groups.flat()) {
    const journal = Journal.open({ path: join(dir, `${id}.db`), nodeId: id, clock });
    nodes.set(id, { journal, standIn: StandIn.open({ journal, rules, clock }) });
  }
  const groupOf = (id: string) => groups.find((g) => g.includes(id)) as readonly string[];
  return {
    clock,
    async pay(id: string, key: string, card: number, amountMinor: number): Promise<Outcome> {
      const outcome = await nodes.get(id)!.standIn.authorize({ idempotencyKey: key, amountMinor, currency: 'EUR', card: cardFacts(card) });
      // Replication inside the node's partition group: its peers learn of the approval.
      const entry = outcome.entry!;
      if (outcome.decision.approved) {
        for (const peer of groupOf(id)) {
          if (peer === id) continue;
          nodes.get(peer)!.standIn.recordPeerEntries([{ origin: id, seq: entry.seq, token: entry.cardToken, currency: entry.currency, amountMinor: entry.amountMinor, wallMs: entry.wallMs }]);
        }
      }
      return outcome;
    },
    close() {
      for (const node of nodes.values()) node.journal.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe("P5: a card's offline limit holds across the store", () => {
  it('a card used on three lanes at once stays within its limit when the peers can talk', async () => {
    const shop = store([['lane-a', 'lane-b', 'lane-c']]);
    const codes: string[] = [];
    for (let round = 0; round < 2; round++) {
      const outcomes = await Promise.all(['lane-a', 'lane-b', 'lane-c'].map((lane) => shop.pay(lane, `${lane}-${round}`, 42, 1000)));
      codes.push(...outcomes.map((o) => o.decision.code));
    }
    expect(codes.filter((c) => c === 'Y3')).toHaveLength(3);
    expect(codes.filter((c) => c === '65')).toHaveLength(3);
    shop.close();
  });

  it('property: per card, approvals never exceed the limit times the number of isolated groups (the documented partition bound)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom([['a', 'b', 'c']], [['a', 'b'], ['c']], [['a'], ['b'], ['c']]),
        fc.array(fc.record({ lane: fc.constantFrom('a', 'b', 'c'), card: fc.nat(2), amountMinor: fc.integer({ min: 1, max: 4_000 }), minutes: fc.nat(30) }), { minLength: 1, maxLength: 40 }),
        async (groups, payments) => {
          const shop = store(groups);
          const approved = new Map<number, { count: number; amountMinor: number }>();
          try {
            let n = 0;
            for (const p of payments) {
              shop.clock.advance(p.minutes * 1000);
              const outcome = await shop.pay(p.lane, `k${n++}`, p.card, p.amountMinor);
              if (!outcome.decision.approved) continue;
              const total = approved.get(p.card) ?? { count: 0, amountMinor: 0 };
              approved.set(p.card, { count: total.count + 1, amountMinor: total.amountMinor + p.amountMinor });
            }
            // Everything happens inside one 24-hour window, so the whole run is one window.
            for (const total of approved.values()) {
              expect(total.count).toBeLessThanOrEqual(3 * groups.length);
              expect(total.amountMinor).toBeLessThanOrEqual(10_000 * groups.length);
            }
          } finally {
            shop.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
