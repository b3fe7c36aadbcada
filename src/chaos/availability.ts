import { percentile, roundTo } from '../bench/latency.js';
import { type PosRequest, isAvailable, laneKey } from './pos-request.js';

/*
 * Availability as the POS sees it, from what it logged: availability = MTBF / (MTBF + MTTR), read
 * here as the share of requests that got a decision within the POS's timeout, per lane and per kind
 * of fault, and the time each fault cost each lane it touched (its time to repair). Pure: the chaos
 * run hands in its request and fault logs, the tests hand in logs made by hand.
 */

/** A box's hardware gone for a while (no power, reader out of its socket): no software serves its lane then. */
export interface HardwareAbsence {
  readonly box: string;
  readonly fromMs: number;
  readonly untilMs: number;
}

/** A fault as this module needs it: held from atMs for heldMs, then healed; the heal finished at healedAtMs. */
export interface FaultSpan<K extends string = string> {
  readonly kind: K;
  readonly atMs: number;
  /** How long it was held before its heal began (the process restarted, the cable plugged back, the power back); unknown without. */
  readonly heldMs?: number;
  readonly healedAtMs: number;
  /** Where it took hardware away; none when left out. */
  readonly absent?: readonly HardwareAbsence[];
}

export interface AvailabilityInput<K extends string = string> {
  readonly requests: readonly PosRequest[];
  /** Injected one at a time: each one's window ends where the next one starts. */
  readonly faults: readonly FaultSpan<K>[];
  /** Lanes that must appear even without a request ("box-1/lane-1"); lanes in the log appear anyway. */
  readonly lanes?: readonly string[];
  /** The order of the per-kind rows; kinds not listed follow in order of first injection. */
  readonly kinds?: readonly K[];
  /** The trading round: requests were sent from roundStartMs until roundEndMs. */
  readonly roundStartMs: number;
  readonly roundEndMs: number;
  /** The POS's timeout: a decision later than this does not count as served. */
  readonly timeoutMs: number;
  /** The store-wide measure's time slice; STORE_SLICE_MS by default. */
  readonly sliceMs?: number;
}

export interface Percentiles {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface LaneAvailability {
  /** "box-1/lane-1". */
  readonly lane: string;
  readonly requests: number;
  /** Requests that got a decision within the POS's timeout. */
  readonly available: number;
  /** available / requests; null for a lane that got no request. */
  readonly availability: number | null;
  /** Of the requests that got a decision (approved or declined); null when none did. */
  readonly latency: Percentiles | null;
}

export interface KindAvailability<K extends string = string> {
  readonly kind: K;
  readonly faults: number;
  /** Requests sent while a fault of this kind was held: from its injection until its heal finished. */
  readonly requests: number;
  readonly available: number;
  /** available / requests; null when no request was sent while one was held. */
  readonly availability: number | null;
  /** Lanes some fault of this kind touched (see Repair), sorted. */
  readonly lanesTouched: readonly string[];
  /** One per (fault, lane it touched). */
  readonly repairs: number;
  /** Repairs whose lane had not served again before the fault's window closed. */
  readonly unrecovered: number;
  /** Time to repair over this kind's repairs, unrecovered ones counted at their window's end; null without repairs. */
  readonly mttr: Percentiles | null;
  /**
   * From the heal's start to the lane serving again, over the recovered repairs whose fault's hold
   * is known: what the system itself takes once the cause is gone (a reader plugged back in to its
   * lane deciding again), without the hold the fault injector chose. null without such repairs.
   */
  readonly afterHeal: Percentiles | null;
}

export interface AvailabilityReport<K extends string = string> {
  readonly timeoutMs: number;
  readonly overall: {
    readonly requests: number;
    readonly available: number;
    /** available / requests over every lane; null without requests. */
    readonly availability: number | null;
    /**
     * The same over the requests sent while their box had power and its reader was in its socket:
     * what software and repair decide. The others (sent into a hardware absence) are the floor no
     * software lifts: a lane without power or reader cannot take a card.
     */
    readonly withHardware: { readonly requests: number; readonly available: number; readonly availability: number | null };
  };
  /**
   * Could a customer pay somewhere in the store? The round is cut into slices of sliceMs; a slice
   * is observed when some request, on any lane, was in flight during it (sent before the slice's
   * end, answered or given up on at or after its start), and available when at least one of the
   * requests in flight during it got a decision within the timeout. availability = available /
   * observed slices (null when none was observed): the share of the round's time in which at least
   * one lane of the store was serving.
   */
  readonly store: {
    readonly sliceMs: number;
    readonly slices: number;
    readonly available: number;
    readonly availability: number | null;
  };
  readonly lanes: readonly LaneAvailability[];
  readonly byKind: readonly KindAvailability<K>[];
}

/**
 * What one fault cost one lane. A fault's window runs from its start until the next fault starts
 * (or the round ends). A lane is touched by a fault when a request to it that was not available
 * ended (was answered, refused or given up on) in that window. The end, not the sending, places a
 * request: a kill cuts the requests in flight when it strikes, which were sent before it, and a
 * request sent just before the next fault and cut by it belongs to that one, not to this.
 * The time to repair runs from the fault's start until the lane served again: the answer of the
 * first available request after the lane's last unavailable one in the window. A lane that did not
 * serve again before the window closed is counted unrecovered, at the window's end: a lower bound
 * of its real repair time, so MTTR never exceeds the window and an unrecovered lane still weighs
 * in the percentiles instead of vanishing from them.
 */
export interface Repair<K extends string = string> {
  readonly kind: K;
  readonly faultAtMs: number;
  readonly lane: string;
  readonly ttrMs: number;
  readonly recovered: boolean;
  /** The fault's window: ttrMs is at most this. */
  readonly windowMs: number;
  /** From the heal's start to the lane serving again (0 when it served again before); null when unrecovered or the hold is unknown. */
  readonly afterHealMs: number | null;
}

/** Half a second: finer than a POS's retry pace (a few hundred ms after a failure), coarse enough to hold a request in flight. */
export const STORE_SLICE_MS = 500;
const RATIO_DIGITS = 4;

export function computeAvailability<K extends string>(input: AvailabilityInput<K>): AvailabilityReport<K> {
  const { requests, timeoutMs } = input;
  const available = requests.filter((r) => isAvailable(r, timeoutMs)).length;
  const absences = input.faults.flatMap((fault) => fault.absent ?? []);
  const withHardware = requests.filter((r) => !absences.some((a) => a.box === r.box && r.sentMs >= a.fromMs && r.sentMs < a.untilMs));
  const availableWithHardware = withHardware.filter((r) => isAvailable(r, timeoutMs)).length;
  return {
    timeoutMs,
    overall: {
      requests: requests.length,
      available,
      availability: ratio(available, requests.length),
      withHardware: { requests: withHardware.length, available: availableWithHardware, availability: ratio(availableWithHardware, withHardware.length) },
    },
    store: storeAvailability(requests, input.roundStartMs, input.roundEndMs, timeoutMs, input.sliceMs ?? STORE_SLICE_MS),
    lanes: laneAvailability(requests, input.lanes ?? [], timeoutMs),
    byKind: kindAvailability(input),
  };
}

function laneAvailability(requests: readonly PosRequest[], expected: readonly string[], timeoutMs: number): LaneAvailability[] {
  const byLane = groupByLane(requests, expected);
  return [...byLane.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([lane, log]) => {
      const served = log.filter((r) => isAvailable(r, timeoutMs)).length;
      const decided = log.filter((r) => r.outcome === 'approved' || r.outcome === 'declined').map((r) => r.latencyMs);
      return { lane, requests: log.length, available: served, availability: ratio(served, log.length), latency: percentilesOf(decided) };
    });
}

function kindAvailability<K extends string>(input: AvailabilityInput<K>): KindAvailability<K>[] {
  const repairs = repairsOf(input);
  const order = [...(input.kinds ?? [])];
  for (const fault of input.faults) if (!order.includes(fault.kind)) order.push(fault.kind);
  return order
    .filter((kind) => input.faults.some((f) => f.kind === kind))
    .map((kind) => {
      const faults = input.faults.filter((f) => f.kind === kind);
      const held = input.requests.filter((r) => faults.some((f) => r.sentMs >= f.atMs && r.sentMs < f.healedAtMs));
      const served = held.filter((r) => isAvailable(r, input.timeoutMs)).length;
      const own = repairs.filter((r) => r.kind === kind);
      return {
        kind,
        faults: faults.length,
        requests: held.length,
        available: served,
        availability: ratio(served, held.length),
        lanesTouched: [...new Set(own.map((r) => r.lane))].sort(),
        repairs: own.length,
        unrecovered: own.filter((r) => !r.recovered).length,
        mttr: percentilesOf(own.map((r) => r.ttrMs)),
        afterHeal: percentilesOf(own.flatMap((r) => (r.afterHealMs === null ? [] : [r.afterHealMs]))),
      };
    });
}

/** Every (fault, lane it touched) with its time to repair; see Repair for the definitions. */
export function repairsOf<K extends string>(input: Pick<AvailabilityInput<K>, 'requests' | 'faults' | 'lanes' | 'roundEndMs' | 'timeoutMs'>): Repair<K>[] {
  const faults = [...input.faults].sort((a, b) => a.atMs - b.atMs);
  const byLane = groupByLane(input.requests, input.lanes ?? []);
  for (const log of byLane.values()) log.sort((a, b) => a.endMs - b.endMs);
  const repairs: Repair<K>[] = [];
  faults.forEach((fault, i) => {
    const windowEnd = Math.max(fault.atMs, faults[i + 1]?.atMs ?? input.roundEndMs);
    for (const [lane, log] of byLane) {
      const lastDown = findLastIndex(log, (r) => r.endMs >= fault.atMs && r.endMs < windowEnd && !isAvailable(r, input.timeoutMs));
      if (lastDown < 0) continue;
      const downEnd = log[lastDown]!.endMs;
      const back = log.slice(lastDown + 1).find((r) => r.endMs > downEnd && isAvailable(r, input.timeoutMs));
      const recovered = back !== undefined && back.endMs < windowEnd;
      const healStartMs = fault.heldMs === undefined ? undefined : fault.atMs + fault.heldMs;
      repairs.push({
        kind: fault.kind,
        faultAtMs: fault.atMs,
        lane,
        ttrMs: (recovered ? back.endMs : windowEnd) - fault.atMs,
        recovered,
        windowMs: windowEnd - fault.atMs,
        afterHealMs: recovered && healStartMs !== undefined ? Math.max(0, back.endMs - healStartMs) : null,
      });
    }
  });
  return repairs;
}

function storeAvailability(requests: readonly PosRequest[], startMs: number, endMs: number, timeoutMs: number, sliceMs: number): AvailabilityReport['store'] {
  const count = Math.max(0, Math.ceil((endMs - startMs) / sliceMs));
  // 0: no request in flight; 1: only unavailable ones; 2: at least one available.
  const state = new Uint8Array(count);
  for (const request of requests) {
    if (request.sentMs >= endMs || request.endMs < startMs) continue;
    const first = Math.floor((Math.max(request.sentMs, startMs) - startMs) / sliceMs);
    const last = Math.min(count - 1, Math.floor((request.endMs - startMs) / sliceMs));
    const mark = isAvailable(request, timeoutMs) ? 2 : 1;
    for (let slice = first; slice <= last; slice++) state[slice] = Math.max(state[slice]!, mark);
  }
  let observed = 0;
  let served = 0;
  for (const s of state) {
    if (s > 0) observed++;
    if (s === 2) served++;
  }
  return { sliceMs, slices: observed, available: served, availability: ratio(served, observed) };
}

function groupByLane(requests: readonly PosRequest[], expected: readonly string[]): Map<string, PosRequest[]> {
  const byLane = new Map<string, PosRequest[]>(expected.map((lane) => [lane, []]));
  for (const request of requests) {
    const lane = laneKey(request);
    const log = byLane.get(lane);
    if (log === undefined) byLane.set(lane, [request]);
    else log.push(request);
  }
  return byLane;
}

function percentilesOf(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  return { p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

/** Rounded for a report people read; rounding is monotonic, so no comparison between lanes flips. */
function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : roundTo(part / whole, RATIO_DIGITS);
}

function findLastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return i;
  return -1;
}
