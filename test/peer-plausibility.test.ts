import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type PeerApproval, PeerExposure } from '../src/authorize/peer-exposure.js';
import { DEFAULT_PEER_CLOCK_TOLERANCE_MS, type PerCardLimits, judgePeerApprovals, peerWindowAt } from '../src/authorize/peer-plausibility.js';
import { EdgepayError } from '../src/errors.js';
import { Journal } from '../src/journal/index.js';
import { ManualClock } from '../src/platform/clock.js';
import { StandIn } from '../src/standin/index.js';
import { cardFacts } from './support/cards.js';
import { DAY_START_MS, rulesWith } from './support/stand-in.js';

const MINUTE_MS = 60_000;
const NOW = DAY_START_MS;
const TEN_YEARS_MS = 10 * 365 * 24 * 60 * MINUTE_MS;
const LIMITS: PerCardLimits = { windowMinutes: 24 * 60, maxCount: 3, maxAmountMinor: { EUR: 15_000, GBP: 10_000 } };
const WINDOW = peerWindowAt(LIMITS, NOW, DEFAULT_PEER_CLOCK_TOLERANCE_MS);

let seqs = 0;
function approval(overrides: Partial<PeerApproval> = {}): PeerApproval {
  return { origin: 'box-x', seq: ++seqs, token: 'tok', currency: 'EUR', amountMinor: 1_000, wallMs: NOW - MINUTE_MS, ...overrides };
}

describe('judgePeerApprovals (pure)', () => {
  it('never counts an approval dated beyond the tolerance, and says why', () => {
    const ahead = approval({ wallMs: NOW + TEN_YEARS_MS, amountMinor: 15_000 });
    const justInside = approval({ origin: 'box-y', wallMs: NOW + DEFAULT_PEER_CLOCK_TOLERANCE_MS });
    const { counted, ignored } = judgePeerApprovals([ahead, justInside], WINDOW, LIMITS);
    expect(counted).toEqual([justInside]);
    expect(ignored).toEqual([{ approval: ahead, reason: 'future' }]);
  });

  it('leaves approvals older than the window out without calling them implausible', () => {
    const old = approval({ wallMs: WINDOW.sinceWallMs - 1 });
    const edge = approval({ wallMs: WINDOW.sinceWallMs });
    expect(judgePeerApprovals([old, edge], WINDOW, LIMITS)).toEqual({ counted: [edge], ignored: [] });
  });

  it('ignores every approval of an origin that claims more than the per-card count, and only that origin', () => {
    const liar = [1, 2, 3, 4].map(() => approval({ origin: 'box-x', amountMinor: 100 }));
    const honest = approval({ origin: 'box-y', amountMinor: 100 });
    const { counted, ignored } = judgePeerApprovals([...liar, honest], WINDOW, LIMITS);
    expect(counted).toEqual([honest]);
    expect(ignored.map((i) => i.reason)).toEqual(['over_limit', 'over_limit', 'over_limit', 'over_limit']);
  });

  it("judges amounts per currency against that currency's limit", () => {
    const withinEach = [approval({ amountMinor: 15_000 }), approval({ currency: 'GBP', amountMinor: 10_000 })];
    expect(judgePeerApprovals(withinEach, WINDOW, LIMITS).counted).toHaveLength(2);
    const overGbp = [approval({ currency: 'GBP', amountMinor: 6_000 }), approval({ currency: 'GBP', amountMinor: 4_001 })];
    expect(judgePeerApprovals(overGbp, WINDOW, LIMITS).counted).toEqual([]);
  });

  it('checks a currency the rules no longer accept by count only', () => {
    const usd = [approval({ currency: 'USD', amountMinor: 1_000_000 })];
    expect(judgePeerApprovals(usd, WINDOW, LIMITS).counted).toEqual(usd);
  });

  it('applies only the window when no limits are given', () => {
    const many = [1, 2, 3, 4, 5].map(() => approval());
    expect(judgePeerApprovals(many, WINDOW, null).counted).toHaveLength(5);
  });

  const arbitraryApprovals = fc.array(
    fc.record({
      origin: fc.constantFrom('a', 'b', 'c'),
      currency: fc.constantFrom('EUR', 'GBP', 'USD'),
      amountMinor: fc.integer({ min: 0, max: 40_000 }),
      // From two windows back to ten years ahead, with most near now.
      wallMs: fc.oneof(fc.integer({ min: NOW - 2 * 24 * 60 * MINUTE_MS, max: NOW + 60 * MINUTE_MS }), fc.integer({ min: NOW, max: NOW + TEN_YEARS_MS })),
    }),
    { maxLength: 40 },
  );
  const arbitraryLimits = fc.record({
    windowMinutes: fc.integer({ min: 1, max: 2 * 24 * 60 }),
    maxCount: fc.integer({ min: 0, max: 6 }),
    maxAmountMinor: fc.record({ EUR: fc.integer({ min: 0, max: 50_000 }), GBP: fc.integer({ min: 0, max: 50_000 }) }),
  });

  it('property: what is counted lies inside the window and stays within the per-card limits for each origin', () => {
    fc.assert(
      fc.property(arbitraryApprovals, arbitraryLimits, fc.integer({ min: 0, max: 60 * MINUTE_MS }), (approvals, limits, toleranceMs) => {
        const window = peerWindowAt(limits, NOW, toleranceMs);
        const { counted, ignored } = judgePeerApprovals(approvals, window, limits);
        for (const a of counted) {
          expect(a.wallMs).toBeGreaterThanOrEqual(window.sinceWallMs);
          expect(a.wallMs).toBeLessThanOrEqual(NOW + toleranceMs);
        }
        for (const origin of new Set(counted.map((a) => a.origin))) {
          const mine = counted.filter((a) => a.origin === origin);
          expect(mine.length).toBeLessThanOrEqual(limits.maxCount);
          for (const [currency, limit] of Object.entries(limits.maxAmountMinor)) {
            expect(mine.filter((a) => a.currency === currency).reduce((sum, a) => sum + a.amountMinor, 0)).toBeLessThanOrEqual(limit);
          }
        }
        // Nothing is both counted and ignored, and nothing inside the window is lost silently.
        const inWindow = approvals.filter((a) => a.wallMs >= window.sinceWallMs);
        expect(counted.length + ignored.length).toBe(inWindow.length);
        for (const { approval: a, reason } of ignored) {
          if (reason === 'future') expect(a.wallMs).toBeGreaterThan(window.untilWallMs);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: an honest origin, deciding by the same limits with its clock stepping back and forth, is never ignored', () => {
    const decisions = fc.array(fc.record({ atMs: fc.integer({ min: NOW - 3 * 24 * 60 * MINUTE_MS, max: NOW }), currency: fc.constantFrom('EUR', 'GBP'), amountMinor: fc.integer({ min: 1, max: 9_000 }) }), {
      maxLength: 60,
    });
    fc.assert(
      fc.property(decisions, arbitraryLimits, (tries, limits) => {
        // The origin's own rule (decide.ts): its approvals from atMs - window on, later ones included.
        const approved: { origin: string; currency: string; amountMinor: number; wallMs: number }[] = [];
        for (const t of tries) {
          const mine = approved.filter((a) => a.wallMs >= t.atMs - limits.windowMinutes * MINUTE_MS);
          const spent = mine.filter((a) => a.currency === t.currency).reduce((sum, a) => sum + a.amountMinor, 0);
          const limit = limits.maxAmountMinor[t.currency as 'EUR' | 'GBP'];
          if (mine.length + 1 <= limits.maxCount && t.amountMinor <= limit - spent) {
            approved.push({ origin: 'honest', currency: t.currency, amountMinor: t.amountMinor, wallMs: t.atMs });
          }
        }
        const { ignored } = judgePeerApprovals(approved, peerWindowAt(limits, NOW, DEFAULT_PEER_CLOCK_TOLERANCE_MS), limits);
        expect(ignored).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('PeerExposure', () => {
  it('does not hold approvals dated beyond the tolerance, so they never count and need no pruning', () => {
    const clock = new ManualClock(NOW);
    const peers = new PeerExposure({ clock, perCard: () => LIMITS });
    peers.recordEntries([approval({ wallMs: NOW + TEN_YEARS_MS, amountMinor: 15_000 })], []);
    expect(peers.size).toBe(0);
    expect(peers.cardWindow('tok', 'EUR', WINDOW.sinceWallMs)).toEqual({ count: 0, amountMinor: 0 });
    expect(peers.ignored()).toEqual({ future: 1, over_limit: 0 });
  });

  it('counts an honest peer whose stamps run ahead by one simulated clock step (10 min)', () => {
    const clock = new ManualClock(NOW);
    const peers = new PeerExposure({ clock, perCard: () => LIMITS });
    peers.recordEntries([approval({ wallMs: NOW + 10 * MINUTE_MS, amountMinor: 2_000 })], []);
    expect(peers.cardWindow('tok', 'EUR', WINDOW.sinceWallMs)).toEqual({ count: 1, amountMinor: 2_000 });
    expect(peers.ignored()).toEqual({ future: 0, over_limit: 0 });
  });

  it('alerts on an over-limit origin as its entries arrive, once per approval however often the card is asked about', () => {
    const clock = new ManualClock(NOW);
    const peers = new PeerExposure({ clock, perCard: () => LIMITS });
    peers.recordEntries(
      [1, 2, 3, 4].map(() => approval({ amountMinor: 15_000 })),
      [],
    );
    expect(peers.ignored()).toEqual({ future: 0, over_limit: 4 });
    for (let i = 0; i < 3; i++) expect(peers.cardWindow('tok', 'EUR', WINDOW.sinceWallMs)).toEqual({ count: 0, amountMinor: 0 });
    expect(peers.ignored()).toEqual({ future: 0, over_limit: 4 });
  });

  it("applies a batch's voids before judging: an honest origin that voided and approved again is believed", () => {
    const clock = new ManualClock(NOW);
    const peers = new PeerExposure({ clock, perCard: () => LIMITS });
    const batch = [1, 2, 3, 4].map(() => approval({ amountMinor: 1_000 }));
    peers.recordEntries(batch, [{ origin: 'box-x', seq: batch[0]!.seq }]);
    expect(peers.cardWindow('tok', 'EUR', WINDOW.sinceWallMs)).toEqual({ count: 3, amountMinor: 3_000 });
    expect(peers.ignored()).toEqual({ future: 0, over_limit: 0 });
  });

  it('judges against the limits in force at each look, so lowered limits apply at once', () => {
    const clock = new ManualClock(NOW);
    let limits = LIMITS;
    const peers = new PeerExposure({ clock, perCard: () => limits });
    peers.recordEntries([approval({ amountMinor: 5_000 }), approval({ amountMinor: 5_000 })], []);
    expect(peers.cardWindow('tok', 'EUR', WINDOW.sinceWallMs)).toEqual({ count: 2, amountMinor: 10_000 });
    limits = { ...LIMITS, maxAmountMinor: { EUR: 8_000 } };
    expect(peers.cardWindow('tok', 'EUR', WINDOW.sinceWallMs)).toEqual({ count: 0, amountMinor: 0 });
    expect(peers.ignored().over_limit).toBe(2);
  });

  it("stops counting a held approval once this node's clock steps back past the tolerance, and counts it again after", () => {
    const clock = new ManualClock(NOW);
    const peers = new PeerExposure({ clock, perCard: () => LIMITS });
    peers.recordEntries([approval({ wallMs: NOW })], []);
    clock.setWallMs(NOW - 20 * MINUTE_MS);
    expect(peers.cardWindow('tok', 'EUR', NOW - 20 * MINUTE_MS - 24 * 60 * MINUTE_MS).count).toBe(0);
    clock.setWallMs(NOW);
    expect(peers.cardWindow('tok', 'EUR', WINDOW.sinceWallMs).count).toBe(1);
  });

  it('refuses a negative tolerance with a coded error', () => {
    for (const futureToleranceMs of [-1, 1.5, Number.NaN]) {
      const error = (() => {
        try {
          new PeerExposure({ futureToleranceMs });
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(EdgepayError);
      expect((error as EdgepayError).code).toBe('EDGEPAY_BAD_INPUT');
    }
  });
});

describe("stand-in decisions with a lying peer (the security review's case)", () => {
  const rules = rulesWith((c) => {
    c.perCard.maxCount = 3;
    c.perCard.maxAmountMinor = { EUR: 15_000, USD: 15_000, GBP: 15_000 };
  });

  function standIn() {
    const dir = mkdtempSync(join(tmpdir(), 'edgepay-peer-plausibility-'));
    const clock = new ManualClock(NOW);
    const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: 'box-a', clock });
    const standIn = StandIn.open({ journal, rules, clock });
    return {
      clock,
      standIn,
      close: () => {
        journal.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  it('approves EUR 5 for a card a peer claims four limit-sized approvals of, ten years ahead', async () => {
    const node = standIn();
    try {
      const token = cardFacts(42).token;
      const lies = [1, 2, 3, 4].map((seq) => ({ origin: 'box-x', seq, token, currency: 'EUR', amountMinor: 15_000, wallMs: NOW + TEN_YEARS_MS + seq }));
      node.standIn.recordPeerEntries(lies);
      const outcome = await node.standIn.authorize({ idempotencyKey: 'k1', amountMinor: 500, currency: 'EUR', card: cardFacts(42) });
      expect(outcome.decision).toMatchObject({ approved: true, code: 'Y3' });
      expect(node.standIn.peerApprovalsIgnored()).toEqual({ future: 4, over_limit: 0 });
    } finally {
      node.close();
    }
  });

  it("still counts a peer's plausible approvals: a card at its limit on another box is declined here", async () => {
    const node = standIn();
    try {
      const token = cardFacts(43).token;
      node.standIn.recordPeerEntries([{ origin: 'box-b', seq: 1, token, currency: 'EUR', amountMinor: 15_000, wallMs: NOW - MINUTE_MS }]);
      const outcome = await node.standIn.authorize({ idempotencyKey: 'k1', amountMinor: 500, currency: 'EUR', card: cardFacts(43) });
      expect(outcome.decision).toMatchObject({ approved: false, code: '61' });
      expect(node.standIn.peerApprovalsIgnored()).toEqual({ future: 0, over_limit: 0 });
    } finally {
      node.close();
    }
  });
});
