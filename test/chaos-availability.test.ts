import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FaultSpan, computeAvailability, repairsOf } from '../src/chaos/availability.js';
import { formatAvailability } from '../src/chaos/availability-text.js';
import type { PosRequest, RequestOutcome } from '../src/chaos/pos-request.js';

/*
 * Availability from the POS's request and fault logs: logs made by hand whose answers are worked
 * out below, and properties over random logs.
 */

const TIMEOUT_MS = 4_000;
const B1 = 'box-1/lane-1';
const B2 = 'box-2/lane-1';
const B3 = 'box-3/lane-1';

function req(box: string, sentMs: number, endMs: number, outcome: RequestOutcome): PosRequest {
  return { box, lane: 'lane-1', sentMs, endMs, latencyMs: endMs - sentMs, outcome, detail: null };
}

describe('availability per lane, overall and for the store', () => {
  const requests = [
    req('box-1', 0, 100, 'approved'),
    req('box-1', 200, 500, 'declined'),
    req('box-1', 600, 601, 'unreachable'),
    // A decision at exactly the timeout is in time; one a millisecond later is not.
    req('box-1', 1_000, 5_000, 'approved'),
    req('box-1', 6_000, 10_001, 'approved'),
    req('box-2', 0, 50, 'http-error'),
    req('box-2', 100, 4_100, 'timeout'),
  ];
  const report = computeAvailability({ requests, faults: [], lanes: [B1, B2, B3], roundStartMs: 0, roundEndMs: 13_000, timeoutMs: TIMEOUT_MS, sliceMs: 1_000 });

  it('counts a lane available when it decided within the timeout, with the latency of its decisions', () => {
    expect(report.lanes).toEqual([
      // 3 of 5 in time; decided latencies 100, 300, 4000, 4001: nearest rank p50 = 2nd, p99 = 4th.
      { lane: B1, requests: 5, available: 3, availability: 0.6, latency: { p50Ms: 300, p99Ms: 4_001 } },
      { lane: B2, requests: 2, available: 0, availability: 0, latency: null },
      // A lane the POS never reached still has a row: a missing lane would hide an outage.
      { lane: B3, requests: 0, available: 0, availability: null, latency: null },
    ]);
    // No fault took hardware away: every request counts with its hardware present.
    expect(report.overall).toEqual({ requests: 7, available: 3, availability: 0.4286, withHardware: { requests: 7, available: 3, availability: 0.4286 } });
  });

  it('counts the store available in a slice when any lane decided in it', () => {
    // Slices of 1 s: 0 has box-1's two decisions; 1-5 box-1's slow but timely one; 6-10 only the
    // late decision; 11 and 12 nothing in flight, so they are not observed at all.
    expect(report.store).toEqual({ sliceMs: 1_000, slices: 11, available: 6, availability: 0.5455 });
  });

  it('prints one row per lane and per kind', () => {
    const text = formatAvailability(report).join('\n');
    expect(text).toContain('box-1/lane-1');
    expect(text).toMatch(/box-1\/lane-1\s+5\s+3\s+60\.0%\s+300\/4001 ms/);
    expect(text).toMatch(/box-3\/lane-1\s+0\s+0\s+-\s+-/);
    expect(text).toContain('overall: 3 of 7 requests, 42.9%');
  });
});

describe('availability per kind of fault and time to repair', () => {
  const faults: FaultSpan[] = [
    // Given out of order: windows follow the injection times, not the log's order.
    { kind: 'db-kill', atMs: 10_000, healedAtMs: 11_000 },
    // Held 500 ms, as systemd waits before starting a killed node again: its heal starts at 1500.
    { kind: 'node-kill', atMs: 1_000, heldMs: 500, healedAtMs: 3_000 },
  ];
  const requests = [
    req('box-1', 0, 100, 'approved'), // before any fault
    req('box-1', 1_000, 1_001, 'unreachable'),
    req('box-1', 1_500, 1_501, 'unreachable'),
    req('box-1', 2_000, 2_300, 'approved'), // served for a moment...
    req('box-1', 2_500, 2_501, 'unreachable'), // ...then down again: the last unavailable one
    req('box-1', 3_500, 3_800, 'approved'), // serving again: repaired 2800 ms after the fault
    req('box-1', 4_000, 4_100, 'approved'),
    req('box-1', 10_500, 10_600, 'approved'), // db-kill does not touch box-1
    req('box-2', 1_200, 1_300, 'approved'),
    req('box-2', 5_000, 9_000, 'timeout'), // in node-kill's window (until 10 000), after its heal
    req('box-2', 9_100, 9_200, 'approved'), // repaired 8200 ms after node-kill's start
    req('box-2', 10_100, 14_100, 'timeout'), // never served again before the round ends at 20 000
  ];
  const input = { requests, faults, lanes: [B1, B2], kinds: ['db-kill', 'node-kill', 'broker-kill'], roundStartMs: 0, roundEndMs: 20_000, timeoutMs: TIMEOUT_MS };

  it('finds every lane a fault touched and when it served again', () => {
    expect(repairsOf(input)).toEqual([
      // Served again at 3800 and 9200: 2300 and 7700 ms after the heal began at 1500.
      { kind: 'node-kill', faultAtMs: 1_000, lane: B1, ttrMs: 2_800, recovered: true, windowMs: 9_000, afterHealMs: 2_300 },
      { kind: 'node-kill', faultAtMs: 1_000, lane: B2, ttrMs: 8_200, recovered: true, windowMs: 9_000, afterHealMs: 7_700 },
      // Unrecovered, and its hold unknown: no time after the heal.
      { kind: 'db-kill', faultAtMs: 10_000, lane: B2, ttrMs: 10_000, recovered: false, windowMs: 10_000, afterHealMs: null },
    ]);
  });

  it('sums the requests sent while each kind was held, in the order of the kinds given', () => {
    expect(computeAvailability(input).byKind).toEqual([
      // Held 10 000-11 000: box-1's decision at 10 500 and box-2's timeout at 10 100.
      { kind: 'db-kill', faults: 1, requests: 2, available: 1, availability: 0.5, lanesTouched: [B2], repairs: 1, unrecovered: 1, mttr: { p50Ms: 10_000, p99Ms: 10_000 }, afterHeal: null },
      // Held 1000-3000: box-1's four requests from 1000 to 2500 and box-2's at 1200; two decided.
      { kind: 'node-kill', faults: 1, requests: 5, available: 2, availability: 0.4, lanesTouched: [B1, B2], repairs: 2, unrecovered: 0, mttr: { p50Ms: 2_800, p99Ms: 8_200 }, afterHeal: { p50Ms: 2_300, p99Ms: 7_700 } },
    ]);
  });

  it('bounds the repair by the next fault: a lane serving again only after it started is unrecovered at its start', () => {
    const repairs = repairsOf({
      requests: [req('box-1', 100, 200, 'unreachable'), req('box-1', 500, 1_500, 'approved')],
      faults: [
        { kind: 'node-kill', atMs: 0, healedAtMs: 300 },
        { kind: 'network-cut', atMs: 1_000, healedAtMs: 2_000 },
      ],
      roundEndMs: 5_000,
      timeoutMs: TIMEOUT_MS,
    });
    expect(repairs).toEqual([{ kind: 'node-kill', faultAtMs: 0, lane: B1, ttrMs: 1_000, recovered: false, windowMs: 1_000, afterHealMs: null }]);
  });

  it('blames a request cut short on the fault that cut it, also when it was sent just before', () => {
    const repairs = repairsOf({
      requests: [
        req('box-1', 100, 200, 'approved'),
        req('box-1', 900, 1_005, 'unreachable'), // sent in node-pause's window, reset by the kill at 1000
        req('box-1', 1_300, 1_400, 'unreachable'),
        req('box-1', 1_700, 1_900, 'declined'),
      ],
      faults: [
        { kind: 'node-pause', atMs: 0, healedAtMs: 500 },
        // Its heal began at 1100; served again at 1900.
        { kind: 'node-kill', atMs: 1_000, heldMs: 100, healedAtMs: 1_600 },
      ],
      roundEndMs: 5_000,
      timeoutMs: TIMEOUT_MS,
    });
    expect(repairs).toEqual([{ kind: 'node-kill', faultAtMs: 1_000, lane: B1, ttrMs: 900, recovered: true, windowMs: 4_000, afterHealMs: 800 }]);
  });

  it('leaves untouched a lane whose requests were all served', () => {
    const repairs = repairsOf({
      requests: [req('box-1', 100, 200, 'approved'), req('box-1', 300, 400, 'declined')],
      faults: [{ kind: 'network-cut', atMs: 0, healedAtMs: 1_000 }],
      roundEndMs: 5_000,
      timeoutMs: TIMEOUT_MS,
    });
    expect(repairs).toEqual([]);
  });
});

describe("requests sent while a lane's hardware was gone", () => {
  it('are kept apart: a box without power or reader counts against no software', () => {
    const requests = [
      req('box-1', 0, 50, 'approved'),
      req('box-1', 1_000, 1_001, 'unreachable'), // power off on box-1
      req('box-1', 1_400, 1_401, 'unreachable'), // still off
      req('box-1', 2_000, 3_500, 'approved'), // booting from 2000: waited for its node, in time
      req('box-1', 4_000, 6_100, 'approved'), // too slow, with its hardware there: counts
      req('box-2', 1_500, 1_501, 'http-error'), // its reader out until 1800
      req('box-2', 1_800, 1_900, 'approved'),
    ];
    const faults: FaultSpan[] = [
      {
        kind: 'store-power-cut',
        atMs: 1_000,
        heldMs: 500,
        healedAtMs: 3_000,
        absent: [
          { box: 'box-1', fromMs: 1_000, untilMs: 2_000 },
          { box: 'box-2', fromMs: 1_000, untilMs: 1_200 },
        ],
      },
      { kind: 'reader-unplug', atMs: 1_300, heldMs: 500, healedAtMs: 1_850, absent: [{ box: 'box-2', fromMs: 1_300, untilMs: 1_800 }] },
    ];
    const report = computeAvailability({ requests, faults, roundStartMs: 0, roundEndMs: 7_000, timeoutMs: 2_000 });
    expect(report.overall).toEqual({
      requests: 7,
      available: 3,
      availability: 0.4286,
      // box-1's two refused requests and box-2's one into the unplugged reader are left out.
      withHardware: { requests: 4, available: 3, availability: 0.75 },
    });
    expect(formatAvailability(report).join('\n')).toContain('with the box powered and its reader in: 3 of 4, 75.00%');
  });
});

describe('availability properties over random logs', () => {
  const ROUND_MS = 60_000;
  const outcome = fc.constantFrom<RequestOutcome>('approved', 'declined', 'failed', 'cancelled', 'http-error', 'timeout', 'unreachable');
  const request = fc
    .record({ box: fc.constantFrom('box-1', 'box-2', 'box-3'), sentMs: fc.integer({ min: 0, max: ROUND_MS }), latencyMs: fc.integer({ min: 0, max: 6_000 }), outcome })
    .map((r) => req(r.box, r.sentMs, r.sentMs + r.latencyMs, r.outcome));
  const fault = fc
    .record({ kind: fc.constantFrom('node-kill', 'db-kill', 'reader-unplug'), atMs: fc.integer({ min: 0, max: ROUND_MS }), heldMs: fc.integer({ min: 0, max: 6_000 }), healMs: fc.integer({ min: 0, max: 3_000 }) })
    .map((f) => ({ kind: f.kind, atMs: f.atMs, heldMs: f.heldMs, healedAtMs: f.atMs + f.heldMs + f.healMs, absent: f.kind === 'reader-unplug' ? [{ box: 'box-1', fromMs: f.atMs, untilMs: f.atMs + f.heldMs }] : [] }));
  const logs = fc.record({ requests: fc.array(request, { maxLength: 200 }), faults: fc.array(fault, { maxLength: 12 }) });
  const inputOf = (l: { requests: PosRequest[]; faults: FaultSpan[] }) => ({ ...l, roundStartMs: 0, roundEndMs: ROUND_MS, timeoutMs: TIMEOUT_MS });

  it('keeps every availability in [0, 1], null only without requests, and the lanes summing to the whole', () => {
    fc.assert(
      fc.property(logs, (l) => {
        const report = computeAvailability(inputOf(l));
        const figures = [report.overall, report.store, ...report.lanes, ...report.byKind];
        for (const f of figures) {
          const count = 'slices' in f ? f.slices : f.requests;
          expect(f.availability === null).toBe(count === 0);
          if (f.availability !== null) expect(f.availability).toBeGreaterThanOrEqual(0);
          if (f.availability !== null) expect(f.availability).toBeLessThanOrEqual(1);
        }
        expect(report.lanes.reduce((sum, lane) => sum + lane.requests, 0)).toBe(report.overall.requests);
        expect(report.overall.withHardware.requests).toBeLessThanOrEqual(report.overall.requests);
        expect(report.overall.withHardware.available).toBeLessThanOrEqual(report.overall.available);
        expect(report.lanes.reduce((sum, lane) => sum + lane.available, 0)).toBe(report.overall.available);
      }),
      { numRuns: 300 },
    );
  });

  it("never lowers a lane's availability when an available request is added to it", () => {
    fc.assert(
      fc.property(logs, request, (l, extra) => {
        const served = req(extra.box, extra.sentMs, extra.sentMs + Math.min(extra.latencyMs, TIMEOUT_MS), 'approved');
        const lane = `${served.box}/lane-1`;
        const before = computeAvailability(inputOf(l)).lanes.find((x) => x.lane === lane)?.availability ?? 0;
        const after = computeAvailability(inputOf({ ...l, requests: [...l.requests, served] })).lanes.find((x) => x.lane === lane)!.availability!;
        expect(after).toBeGreaterThanOrEqual(before);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps every time to repair within its fault's window: from its start to the next fault's or the round's end", () => {
    fc.assert(
      fc.property(logs, (l) => {
        for (const repair of repairsOf(inputOf(l))) {
          const next = Math.min(...l.faults.map((f) => f.atMs).filter((at) => at > repair.faultAtMs), ROUND_MS);
          expect(repair.ttrMs).toBeGreaterThanOrEqual(0);
          expect(repair.ttrMs).toBeLessThanOrEqual(repair.windowMs);
          expect(repair.windowMs).toBeLessThanOrEqual(Math.max(0, next - repair.faultAtMs));
          if (!repair.recovered) expect(repair.ttrMs).toBe(repair.windowMs);
          // Every fault here has its hold: a time after the heal exactly for the recovered, never more than the whole repair.
          expect(repair.afterHealMs === null).toBe(!repair.recovered);
          if (repair.afterHealMs !== null) expect(repair.afterHealMs).toBeGreaterThanOrEqual(0);
          if (repair.afterHealMs !== null) expect(repair.afterHealMs).toBeLessThanOrEqual(repair.ttrMs);
        }
        for (const kind of computeAvailability(inputOf(l)).byKind) {
          if (kind.mttr !== null) expect(kind.mttr.p50Ms).toBeLessThanOrEqual(kind.mttr.p99Ms);
          expect(kind.mttr === null).toBe(kind.repairs === 0);
        }
      }),
      { numRuns: 300 },
    );
  });
});
