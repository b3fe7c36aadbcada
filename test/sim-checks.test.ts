import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../src/journal/entry.js';
import type { LaneAnswer, LaneRequest, RequestRole } from '../src/sim/lane-requests.js';
import { checkDoubledRequests, checkOneKeyOnePayment, checkResultsShown, checkRulesConverged } from '../src/sim/sim-checks.js';
import type { ShownResult } from '../src/sim/sim-lane.js';

/*
 * The simulation's one-key checks on hand-made runs: each must pass what a correct box does and
 * name what a wrong one did, or a seed that breaks the promise would pass unseen.
 */

const NODE = 'lane-1';

function entry(seq: number, key: string, lane: string, amountMinor: number, approved = true): JournalEntry {
  const code = approved ? 'Y3' : '05';
  return {
    seq,
    nodeId: NODE,
    kind: 'authorization',
    idempotencyKey: key,
    refSeq: null,
    lane,
    reference: key,
    amountMinor,
    currency: 'EUR',
    cardToken: 't',
    cardBin: '',
    cardLast4: '0001',
    sealedCard: null,
    decision: { approved, code, reason: '', rule: '', mode: 'offline' },
    wallMs: 0,
    monoUs: 0,
    prevHash: '0'.repeat(64),
    hash: '1'.repeat(64),
  };
}

function paid(lane: string, amountMinor: number, journalSeq: number | null, status: 'approved' | 'declined' | 'failed' = 'approved', code: string | null = 'Y3'): LaneAnswer {
  const decided = status !== 'failed';
  return { kind: 'payment', status, lane, amountMinor, journalSeq, approved: decided ? status === 'approved' : null, code: decided ? code : null, mode: decided ? 'offline' : null, errorCode: null };
}

function asked(key: string, role: RequestRole, lane: string, amountMinor: number, answer: LaneAnswer): LaneRequest {
  return { node: NODE, key, role, lane, amountMinor, answer };
}

const conflict: LaneAnswer = { kind: 'refused', code: 'EDGEPAY_IDEMPOTENCY_CONFLICT' };
const journals = (...entries: JournalEntry[]) => new Map([[NODE, entries]]);

describe('the one-key checks of the simulation', () => {
  const good = [
    asked('k1', 'sale', 'lane-1.1', 500, paid('lane-1.1', 500, 1)),
    asked('k1', 'same-lane', 'lane-1.1', 500, paid('lane-1.1', 500, 1)),
    asked('k1', 'other-lane', 'lane-1.2', 500, conflict),
    asked('k1', 'other-amount', 'lane-1.1', 501, { kind: 'none', why: 'box down' }),
    asked('k2', 'sale', 'lane-1.2', 700, paid('lane-1.2', 700, null, 'declined', '91')),
    asked('k3', 'sale', 'lane-1.2', 300, paid('lane-1.2', 300, null, 'failed')),
  ];

  it('pass a box that kept one payment per key', () => {
    expect(checkOneKeyOnePayment(good, journals(entry(1, 'k1', 'lane-1.1', 500))).ok).toBe(true);
    expect(checkDoubledRequests(good).ok).toBe(true);
  });

  it("name an answer that is not its key's entry, a second entry, and a failure the journal holds a decision for", () => {
    const wrongSeq = [asked('k1', 'sale', 'lane-1.1', 500, paid('lane-1.1', 500, 2))];
    expect(checkOneKeyOnePayment(wrongSeq, journals(entry(1, 'k1', 'lane-1.1', 500))).detail).toContain('lane-1/k1 (sale): answered approved Y3 as entry 2');
    expect(checkOneKeyOnePayment([], journals(entry(1, 'k1', 'lane-1.1', 500), entry(2, 'k1', 'lane-1.1', 500))).detail).toContain('lane-1/k1: 2 journal entries');
    expect(checkOneKeyOnePayment(good, journals(entry(1, 'k1', 'lane-1.1', 500), entry(2, 'k3', 'lane-1.2', 300))).detail).toContain('lane-1/k3 (sale): answered failed');
    // Answered with the payment of another body: the other lane's request got the sale's entry.
    const stolen = [asked('k1', 'other-lane', 'lane-1.2', 500, paid('lane-1.1', 500, 1))];
    expect(checkOneKeyOnePayment(stolen, journals(entry(1, 'k1', 'lane-1.1', 500))).detail).toContain('asked lane-1.2 500, answered with the payment at lane-1.1 500');
  });

  it('name a join that got another answer, and a different body that was not refused', () => {
    const split = [asked('k1', 'sale', 'lane-1.1', 500, paid('lane-1.1', 500, 1)), asked('k1', 'same-lane', 'lane-1.1', 500, paid('lane-1.1', 500, 2))];
    expect(checkDoubledRequests(split).detail).toContain('lane-1/k1: one body, 2 different payments');
    const taken = [asked('k1', 'sale', 'lane-1.1', 500, paid('lane-1.1', 500, 1)), asked('k1', 'other-amount', 'lane-1.1', 501, paid('lane-1.1', 501, 2))];
    expect(checkDoubledRequests(taken).detail).toContain('other-amount request at lane-1.1 501 got a payment (approved, entry 2) instead of a conflict');
    const refusedJoin = [asked('k1', 'same-lane', 'lane-1.1', 500, { kind: 'refused', code: 'EDGEPAY_LANE_BUSY' })];
    expect(checkDoubledRequests(refusedJoin).detail).toContain('refused (EDGEPAY_LANE_BUSY) instead of joining');
    expect(checkDoubledRequests([asked('k1', 'sale', 'lane-1.1', 500, conflict)]).detail).toContain("the sale's own request was refused as a conflict");
  });

  it('pass results shown for journaled payments of the lane, and name one shown at another lane, twice, or for no entry', () => {
    const shown = (...results: ShownResult[]) => [{ id: NODE, resultsShown: results }];
    const k1: ShownResult = { lane: 'lane-1.1', key: 'k1', approved: true, code: 'Y3' };
    const unrecorded: ShownResult = { lane: 'lane-1.2', key: 'k2', approved: false, code: '91' };
    const held = journals(entry(1, 'k1', 'lane-1.1', 500));
    expect(checkResultsShown(shown(k1, unrecorded), held, new Map([['lane-1.1', 1]])).ok).toBe(true);
    expect(checkResultsShown(shown({ ...k1, lane: 'lane-1.2' }), held, new Map()).detail).toContain('lane-1.2 showed APPROVED Y3 for k1, journaled as entry 1 at lane-1.1');
    expect(checkResultsShown(shown(k1, k1), held, new Map()).detail).toContain('for k1 again');
    expect(checkResultsShown(shown({ ...k1, key: 'k9' }), held, new Map()).detail).toContain('for k9, which has no journal entry');
    expect(checkResultsShown(shown(k1), held, new Map([['lane-1.1', 2]])).detail).toContain("lane-1.1's reader displayed 2 results, its lane asked for 1");
  });
});

describe("the rules check: every box decides with the centre's last update", () => {
  const box = (id: string, version: number | null) => ({ id, rulesVersion: () => version });

  it('passes when every box decides with the target version', () => {
    expect(checkRulesConverged([box('lane-1', 4), box('lane-2', 4)], 4)).toMatchObject({ ok: true, detail: 'version 4 published; lane-1 4, lane-2 4' });
  });

  it('names a box left on older rules, and one that is down', () => {
    expect(checkRulesConverged([box('lane-1', 4), box('lane-2', 3)], 4)).toMatchObject({ ok: false, detail: 'version 4 published; lane-1 4, lane-2 3' });
    expect(checkRulesConverged([box('lane-1', 4), box('lane-2', null)], 4)).toMatchObject({ ok: false, detail: 'version 4 published; lane-1 4, lane-2 down' });
  });
});
