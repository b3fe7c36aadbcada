import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../src/journal/entry.js';
import type { LaneAnswer, LaneRequest, RequestRole } from '../src/sim/lane-requests.js';
import { checkDoubledRequests, checkOneKeyOnePayment, checkResultsShown, checkRulesConverged } from '../src/sim/sim-checks.js';
import type { DeadDisks } from '../src/sim/dead-disks.js';
import type { DiskShownResult } from '../src/sim/sim-node.js';

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

function asked(key: string, role: RequestRole, lane: string, amountMinor: number, answer: LaneAnswer, disk = 0): LaneRequest {
  return { node: NODE, key, role, lane, amountMinor, answer, disk };
}

/** No disk died. */
const alive: DeadDisks = new Map();
/** The box's first disk died holding entries for these keys. */
const diedHolding = (...keys: string[]): DeadDisks => new Map([[NODE, [new Set(keys)]]]);

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
    expect(checkOneKeyOnePayment(good, journals(entry(1, 'k1', 'lane-1.1', 500)), alive).ok).toBe(true);
    expect(checkDoubledRequests(good, alive).ok).toBe(true);
  });

  it("name an answer that is not its key's entry, a second entry, and a failure the journal holds a decision for", () => {
    const wrongSeq = [asked('k1', 'sale', 'lane-1.1', 500, paid('lane-1.1', 500, 2))];
    expect(checkOneKeyOnePayment(wrongSeq, journals(entry(1, 'k1', 'lane-1.1', 500)), alive).detail).toContain('lane-1/k1 (sale): answered approved Y3 as entry 2');
    expect(checkOneKeyOnePayment([], journals(entry(1, 'k1', 'lane-1.1', 500), entry(2, 'k1', 'lane-1.1', 500)), alive).detail).toContain('lane-1/k1: 2 journal entries');
    expect(checkOneKeyOnePayment(good, journals(entry(1, 'k1', 'lane-1.1', 500), entry(2, 'k3', 'lane-1.2', 300)), alive).detail).toContain('lane-1/k3 (sale): answered failed');
    // Answered with the payment of another body: the other lane's request got the sale's entry.
    const stolen = [asked('k1', 'other-lane', 'lane-1.2', 500, paid('lane-1.1', 500, 1))];
    expect(checkOneKeyOnePayment(stolen, journals(entry(1, 'k1', 'lane-1.1', 500)), alive).detail).toContain('asked lane-1.2 500, answered with the payment at lane-1.1 500');
  });

  it('name a join that got another answer, and a different body that was not refused', () => {
    const split = [asked('k1', 'sale', 'lane-1.1', 500, paid('lane-1.1', 500, 1)), asked('k1', 'same-lane', 'lane-1.1', 500, paid('lane-1.1', 500, 2))];
    expect(checkDoubledRequests(split, alive).detail).toContain('lane-1/k1: one body, 2 different payments');
    const taken = [asked('k1', 'sale', 'lane-1.1', 500, paid('lane-1.1', 500, 1)), asked('k1', 'other-amount', 'lane-1.1', 501, paid('lane-1.1', 501, 2))];
    expect(checkDoubledRequests(taken, alive).detail).toContain('other-amount request at lane-1.1 501 got a payment (approved, entry 2) instead of a conflict');
    const refusedJoin = [asked('k1', 'same-lane', 'lane-1.1', 500, { kind: 'refused', code: 'EDGEPAY_LANE_BUSY' })];
    expect(checkDoubledRequests(refusedJoin, alive).detail).toContain('refused (EDGEPAY_LANE_BUSY) instead of joining');
    expect(checkDoubledRequests([asked('k1', 'sale', 'lane-1.1', 500, conflict)], alive).detail).toContain("the sale's own request was refused as a conflict");
  });

  it('pass results shown for journaled payments of the lane, and name one shown at another lane, twice, or for no entry', () => {
    const shown = (...results: DiskShownResult[]) => [{ id: NODE, resultsShown: results }];
    const k1: DiskShownResult = { lane: 'lane-1.1', key: 'k1', approved: true, code: 'Y3', disk: 0 };
    const unrecorded: DiskShownResult = { lane: 'lane-1.2', key: 'k2', approved: false, code: '91', disk: 0 };
    const held = journals(entry(1, 'k1', 'lane-1.1', 500));
    expect(checkResultsShown(shown(k1, unrecorded), held, new Map([['lane-1.1', 1]]), alive).ok).toBe(true);
    expect(checkResultsShown(shown({ ...k1, lane: 'lane-1.2' }), held, new Map(), alive).detail).toContain('lane-1.2 showed APPROVED Y3 for k1, journaled as entry 1 at lane-1.1');
    expect(checkResultsShown(shown(k1, k1), held, new Map(), alive).detail).toContain('for k1 again');
    expect(checkResultsShown(shown({ ...k1, key: 'k9' }), held, new Map(), alive).detail).toContain('for k9, which has no journal entry');
    expect(checkResultsShown(shown(k1), held, new Map([['lane-1.1', 2]]), alive).detail).toContain("lane-1.1's reader displayed 2 results, its lane asked for 1");
  });
});

describe('a 91 whose record died with its disk', () => {
  // k2 answered 91 on disk 0 (the journal full), the disk died, and the sale's retry was approved on disk 1.
  const requests = [asked('k2', 'sale', 'lane-1.2', 700, paid('lane-1.2', 700, null, 'declined', '91')), asked('k2', 'sale', 'lane-1.2', 700, paid('lane-1.2', 700, 4), 1)];
  const held = journals(entry(4, 'k2', 'lane-1.2', 700));
  const shown = [
    {
      id: NODE,
      resultsShown: [
        { lane: 'lane-1.2', key: 'k2', approved: false, code: '91', disk: 0 },
        { lane: 'lane-1.2', key: 'k2', approved: true, code: 'Y3', disk: 1 },
      ],
    },
  ];

  it('is counted, not a problem, when the dead disk held no entry for the key', () => {
    const dead = diedHolding();
    expect(checkOneKeyOnePayment(requests, held, dead)).toMatchObject({ ok: true, detail: expect.stringContaining('1 91s forgotten with a dead disk') });
    expect(checkDoubledRequests(requests, dead).ok).toBe(true);
    expect(checkResultsShown(shown, held, new Map(), dead)).toMatchObject({ ok: true, detail: expect.stringContaining('1 of them 91s without an entry') });
  });

  it('is joined by the same request from the other till, on the disk it was given on', () => {
    const joined = [...requests, asked('k2', 'same-lane', 'lane-1.2', 700, paid('lane-1.2', 700, null, 'declined', '91'))];
    expect(checkDoubledRequests(joined, diedHolding()).ok).toBe(true);
    // A join answered with a 91 the sale never got is still named.
    const strayJoin = [requests[1]!, asked('k2', 'same-lane', 'lane-1.2', 700, paid('lane-1.2', 700, null, 'declined', '91'))];
    expect(checkDoubledRequests(strayJoin, diedHolding()).detail).toContain("got a payment the sale's own requests never got");
  });

  it('is a problem while the disk lives, and when the dead disk held the entry already', () => {
    for (const dead of [alive, diedHolding('k2')]) {
      expect(checkOneKeyOnePayment(requests, held, dead).detail).toContain('lane-1/k2 (sale): answered declined 91 without an entry, but the journal holds entry 4');
      expect(checkDoubledRequests(requests, dead).detail).toContain('lane-1/k2: one body, 2 different payments');
      expect(checkResultsShown(shown, held, new Map(), dead).detail).toContain('lane-1.2 showed DECLINED 91 for k2, journaled as entry 4');
    }
  });

  it('is still once per key on its disk', () => {
    const twice = [{ id: NODE, resultsShown: [shown[0]!.resultsShown[0]!, shown[0]!.resultsShown[0]!] }];
    expect(checkResultsShown(twice, journals(), new Map(), diedHolding()).detail).toContain('for k2 again');
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
