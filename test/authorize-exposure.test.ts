import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../src/errors.js';
import { type ApprovalRecord, ExposureState } from '../src/authorize/index.js';

const T0 = Date.UTC(2025, 0, 1);
const MINUTE_MS = 60_000;

function approval(seq: number, overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return { seq, token: 'tok-a', currency: 'EUR', amountMinor: 1_000, wallMs: T0, ...overrides };
}

describe('ExposureState: recording and reading', () => {
  it('starts empty', () => {
    const state = new ExposureState();
    expect(state.cardWindow('tok-a', 'EUR', 0)).toEqual({ count: 0, amountMinor: 0 });
    expect(state.nodeStored('EUR')).toEqual({ count: 0, amountMinor: 0 });
    expect(state.oldestUnforwardedWallMs()).toBeNull();
  });

  it('counts a card across currencies but sums only the asked currency', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1, { amountMinor: 100 }));
    state.recordApproval(approval(2, { currency: 'USD', amountMinor: 250 }));
    state.recordApproval(approval(3, { token: 'tok-b', amountMinor: 999 }));
    expect(state.cardWindow('tok-a', 'EUR', 0)).toEqual({ count: 2, amountMinor: 100 });
    expect(state.cardWindow('tok-a', 'USD', 0)).toEqual({ count: 2, amountMinor: 250 });
    expect(state.nodeStored('EUR')).toEqual({ count: 3, amountMinor: 1_099 });
    expect(state.nodeStored('USD')).toEqual({ count: 3, amountMinor: 250 });
  });

  it('includes approvals exactly at sinceWallMs and after it', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1, { wallMs: T0 - 1 }));
    state.recordApproval(approval(2, { wallMs: T0 }));
    state.recordApproval(approval(3, { wallMs: T0 + 10 * MINUTE_MS }));
    expect(state.cardWindow('tok-a', 'EUR', T0).count).toBe(2);
    expect(state.cardWindow('tok-a', 'EUR', T0 + 1).count).toBe(1);
  });

  it('tracks the oldest unforwarded approval by wall time, not by seq', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1, { wallMs: T0 + 5 }));
    state.recordApproval(approval(2, { wallMs: T0 }));
    state.recordApproval(approval(3, { wallMs: T0 + 9 }));
    expect(state.oldestUnforwardedWallMs()).toBe(T0);
    state.markForwarded(2);
    expect(state.oldestUnforwardedWallMs()).toBe(T0 + 5);
    state.markForwarded(1);
    state.markForwarded(3);
    expect(state.oldestUnforwardedWallMs()).toBeNull();
  });

  it('rejects a malformed approval, naming every bad field, and stays unchanged', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1));
    const bad = { seq: -1, token: '', currency: '', amountMinor: 1.5, wallMs: Number.NaN };
    expect(() => state.recordApproval(bad)).toThrow(BadInputError);
    try {
      state.recordApproval(bad);
    } catch (error) {
      expect((error as BadInputError).problems.map((p) => p.path)).toEqual(['seq', 'token', 'currency', 'amountMinor', 'wallMs']);
    }
    expect(() => state.recordApproval(approval(1))).toThrow(/seq: is already recorded/);
    expect(() => state.recordApproval(approval(2, { amountMinor: 0 }))).toThrow(/amountMinor/);
    expect(state.stats()).toMatchObject({ trackedApprovals: 1, storedApprovals: 1 });
  });

  it('refuses an approval that would push a stored total past a safe integer', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1, { amountMinor: Number.MAX_SAFE_INTEGER }));
    expect(() => state.recordApproval(approval(2, { amountMinor: 1 }))).toThrow(/safe integer/);
    expect(state.nodeStored('EUR')).toEqual({ count: 1, amountMinor: Number.MAX_SAFE_INTEGER });
  });
});

describe('ExposureState: release, forward, prune', () => {
  it('release removes an approval from the card window and the node totals', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1, { amountMinor: 300 }));
    state.recordApproval(approval(2, { amountMinor: 200 }));
    state.recordRelease(1);
    expect(state.cardWindow('tok-a', 'EUR', 0)).toEqual({ count: 1, amountMinor: 200 });
    expect(state.nodeStored('EUR')).toEqual({ count: 1, amountMinor: 200 });
  });

  it('release is idempotent and ignores unknown seqs', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1));
    state.recordRelease(1);
    state.recordRelease(1);
    state.recordRelease(99);
    expect(state.cardWindow('tok-a', 'EUR', 0)).toEqual({ count: 0, amountMinor: 0 });
    expect(state.stats()).toMatchObject({ trackedApprovals: 0, cards: 0, storedApprovals: 0 });
  });

  it('release after forwarding still frees the card window', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1));
    state.markForwarded(1);
    state.recordRelease(1);
    expect(state.cardWindow('tok-a', 'EUR', 0).count).toBe(0);
    expect(state.nodeStored('EUR').count).toBe(0);
  });

  it('forwarding frees the node totals but the card keeps what it spent', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1, { amountMinor: 700 }));
    state.markForwarded(1);
    state.markForwarded(1);
    state.markForwarded(42);
    expect(state.nodeStored('EUR')).toEqual({ count: 0, amountMinor: 0 });
    expect(state.cardWindow('tok-a', 'EUR', 0)).toEqual({ count: 1, amountMinor: 700 });
  });

  it('prune drops old card history but keeps unforwarded node totals', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1, { wallMs: T0, amountMinor: 100 }));
    state.recordApproval(approval(2, { wallMs: T0 + 2 * MINUTE_MS, amountMinor: 200 }));
    expect(state.prune(T0 + MINUTE_MS)).toBe(1);
    expect(state.cardWindow('tok-a', 'EUR', 0)).toEqual({ count: 1, amountMinor: 200 });
    expect(state.nodeStored('EUR')).toEqual({ count: 2, amountMinor: 300 });
    expect(state.oldestUnforwardedWallMs()).toBe(T0);
    // A pruned approval can still be forwarded or voided by seq.
    state.markForwarded(1);
    expect(state.nodeStored('EUR')).toEqual({ count: 1, amountMinor: 200 });
    expect(state.stats().trackedApprovals).toBe(1);
  });

  it('prune keeps an approval stamped exactly at the cut', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1, { wallMs: T0 }));
    expect(state.prune(T0)).toBe(0);
    expect(state.cardWindow('tok-a', 'EUR', 0).count).toBe(1);
  });

  it('stays bounded over a long trading period when approvals are forwarded and pruned', () => {
    const state = new ExposureState();
    const windowMs = 24 * 60 * MINUTE_MS;
    let wallMs = T0;
    for (let seq = 0; seq < 20_000; seq++) {
      wallMs += 30_000;
      state.recordApproval(approval(seq, { token: `tok-${seq % 97}`, wallMs }));
      if (seq >= 10) state.markForwarded(seq - 10);
      if (seq % 100 === 0) state.prune(wallMs - windowMs);
    }
    const stats = state.stats();
    // One day at one approval every 30 s is 2,880 approvals; the rest must have been dropped.
    expect(stats.trackedApprovals).toBeLessThanOrEqual(2_880 + 100);
    expect(stats.storedApprovals).toBe(10);
    expect(stats.undoRecords).toBe(0);
  });
});

describe('ExposureState: checkpoint, commit, rollback', () => {
  it('rollback reverts every change since the checkpoint', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1, { wallMs: T0, amountMinor: 100 }));
    state.recordApproval(approval(2, { wallMs: T0 + 1, amountMinor: 200 }));
    const undo = state.checkpoint();
    state.recordApproval(approval(3, { wallMs: T0 - 5, amountMinor: 400 }));
    state.recordRelease(1);
    state.markForwarded(2);
    state.prune(T0 + 10);
    expect(state.stats().undoRecords).toBe(4);
    state.rollback(undo);
    expect(state.cardWindow('tok-a', 'EUR', 0)).toEqual({ count: 2, amountMinor: 300 });
    expect(state.nodeStored('EUR')).toEqual({ count: 2, amountMinor: 300 });
    expect(state.oldestUnforwardedWallMs()).toBe(T0);
    expect(state.stats()).toEqual({ trackedApprovals: 2, cards: 1, storedApprovals: 2, undoRecords: 0 });
  });

  it('commit keeps the changes and empties the undo log', () => {
    const state = new ExposureState();
    const undo = state.checkpoint();
    state.recordApproval(approval(1));
    state.commit(undo);
    expect(state.stats()).toMatchObject({ storedApprovals: 1, undoRecords: 0 });
  });

  it('records nothing outside a checkpoint', () => {
    const state = new ExposureState();
    state.recordApproval(approval(1));
    state.markForwarded(1);
    state.prune(T0 + 1);
    expect(state.stats().undoRecords).toBe(0);
  });

  it('refuses a second open checkpoint and a stale or foreign undo', () => {
    const state = new ExposureState();
    const undo = state.checkpoint();
    expect(() => state.checkpoint()).toThrow(/still open/);
    state.commit(undo);
    expect(() => state.rollback(undo)).toThrow(/not the open one/);
    expect(() => state.commit(undo)).toThrow(/not the open one/);
    const other = new ExposureState().checkpoint();
    state.checkpoint();
    expect(() => state.rollback(other)).toThrow(/not the open one/);
  });
});

/* ---------------------------------------------------------------------------------------------
 * Property tests: ExposureState against a naive model, and rollback against a state built without
 * the rolled-back operations.
 */

const TOKENS = ['tok-a', 'tok-b', 'tok-c'];
const CURRENCIES = ['EUR', 'USD'];

type Op =
  | { readonly type: 'approve'; readonly token: string; readonly currency: string; readonly amountMinor: number; readonly wallMs: number }
  | { readonly type: 'release'; readonly seq: number }
  | { readonly type: 'forward'; readonly seq: number }
  | { readonly type: 'prune'; readonly beforeWallMs: number };

const wallMsArb = fc.integer({ min: T0, max: T0 + 120 * MINUTE_MS });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ type: fc.constant('approve' as const), token: fc.constantFrom(...TOKENS), currency: fc.constantFrom(...CURRENCIES), amountMinor: fc.integer({ min: 1, max: 10_000 }), wallMs: wallMsArb }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('release' as const), seq: fc.nat(40) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('forward' as const), seq: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('prune' as const), beforeWallMs: wallMsArb }) },
);

/** Ops carry no seq of their own: an approval takes the index of its op, so a replay without some ops keeps the others' seqs. */
function apply(state: ExposureState, op: Op, index: number): void {
  switch (op.type) {
    case 'approve':
      state.recordApproval({ seq: index, token: op.token, currency: op.currency, amountMinor: op.amountMinor, wallMs: op.wallMs });
      return;
    case 'release':
      state.recordRelease(op.seq);
      return;
    case 'forward':
      state.markForwarded(op.seq);
      return;
    case 'prune':
      state.prune(op.beforeWallMs);
      return;
  }
}

interface ModelEntry {
  seq: number;
  token: string;
  currency: string;
  amountMinor: number;
  wallMs: number;
  released: boolean;
  forwarded: boolean;
  pruned: boolean;
}

class Model {
  readonly entries: ModelEntry[] = [];

  apply(op: Op, index: number): void {
    const find = (seq: number) => this.entries.find((e) => e.seq === seq && !e.released);
    switch (op.type) {
      case 'approve':
        this.entries.push({ seq: index, ...op, released: false, forwarded: false, pruned: false });
        return;
      case 'release': {
        const entry = find(op.seq);
        if (entry) entry.released = true;
        return;
      }
      case 'forward': {
        const entry = find(op.seq);
        if (entry) entry.forwarded = true;
        return;
      }
      case 'prune':
        for (const e of this.entries) if (e.wallMs < op.beforeWallMs) e.pruned = true;
        return;
    }
  }

  cardWindow(token: string, currency: string, sinceWallMs: number) {
    const inWindow = this.entries.filter((e) => !e.released && !e.pruned && e.token === token && e.wallMs >= sinceWallMs);
    return { count: inWindow.length, amountMinor: sum(inWindow.filter((e) => e.currency === currency)) };
  }

  nodeStored(currency: string) {
    const stored = this.entries.filter((e) => !e.released && !e.forwarded);
    return { count: stored.length, amountMinor: sum(stored.filter((e) => e.currency === currency)) };
  }

  oldestUnforwardedWallMs(): number | null {
    const stored = this.entries.filter((e) => !e.released && !e.forwarded);
    return stored.length === 0 ? null : Math.min(...stored.map((e) => e.wallMs));
  }
}

function sum(entries: readonly ModelEntry[]): number {
  return entries.reduce((total, e) => total + e.amountMinor, 0);
}

/** Everything a caller can observe, at every cut that matters (each approval time and just after). */
function observe(state: Pick<ExposureState, 'cardWindow' | 'nodeStored' | 'oldestUnforwardedWallMs'>, ops: readonly Op[]) {
  const cuts = [Number.MIN_SAFE_INTEGER, ...ops.flatMap((op) => (op.type === 'approve' ? [op.wallMs, op.wallMs + 1] : []))];
  return {
    cards: TOKENS.flatMap((token) => CURRENCIES.flatMap((currency) => cuts.map((cut) => state.cardWindow(token, currency, cut)))),
    node: CURRENCIES.map((currency) => state.nodeStored(currency)),
    oldest: state.oldestUnforwardedWallMs(),
  };
}

describe('ExposureState: properties', () => {
  it('agrees with a naive model after any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60, size: 'max' }), (ops) => {
        const state = new ExposureState();
        const model = new Model();
        ops.forEach((op, i) => {
          apply(state, op, i);
          model.apply(op, i);
          expect(state.oldestUnforwardedWallMs()).toBe(model.oldestUnforwardedWallMs());
        });
        expect(observe(state, ops)).toEqual(observe(model, ops));
      }),
    );
  });

  it('rollback leaves exactly the state built without the rolled-back operations', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 30, size: 'max' }),
        fc.array(opArb, { maxLength: 30, size: 'max' }),
        fc.array(opArb, { maxLength: 30, size: 'max' }),
        fc.boolean(),
        (before, during, after, readInBetween) => {
          const state = new ExposureState();
          before.forEach((op, i) => apply(state, op, i));
          const undo = state.checkpoint();
          during.forEach((op, i) => {
            apply(state, op, before.length + i);
            // Reading fills the oldest-approval cache; the rollback must not trust a stale one.
            if (readInBetween) state.oldestUnforwardedWallMs();
          });
          state.rollback(undo);
          const afterBase = before.length + during.length;
          after.forEach((op, i) => apply(state, op, afterBase + i));

          const fresh = new ExposureState();
          before.forEach((op, i) => apply(fresh, op, i));
          after.forEach((op, i) => apply(fresh, op, afterBase + i));

          const all = [...before, ...during, ...after];
          expect(observe(state, all)).toEqual(observe(fresh, all));
          expect(state.stats()).toEqual(fresh.stats());
        },
      ),
    );
  });

  it('commit leaves exactly the state built without any checkpoint', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30, size: 'max' }), fc.array(opArb, { maxLength: 30, size: 'max' }), (before, during) => {
        const state = new ExposureState();
        before.forEach((op, i) => apply(state, op, i));
        const undo = state.checkpoint();
        during.forEach((op, i) => apply(state, op, before.length + i));
        state.commit(undo);

        const plain = new ExposureState();
        [...before, ...during].forEach((op, i) => apply(plain, op, i));
        expect(observe(state, [...before, ...during])).toEqual(observe(plain, [...before, ...during]));
        expect(state.stats()).toEqual(plain.stats());
      }),
    );
  });
});
