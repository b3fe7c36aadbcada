import { EdgepayError } from '../errors.js';

/*
 * The node's memory of whether the centre answers online authorizations: a circuit breaker. Pure;
 * the uplink drives it (reconcile/online-guard.ts) with its clock, timers and randomness.
 *
 *   closed     payments ask the centre; `failuresToOpen` unanswered in a row open it
 *   open       payments are decided offline at once, without asking; when the back-off is over
 *   half_open  one probe (a request that changes nothing at the centre) is in flight: answered,
 *              closed; unanswered, open again with twice the back-off
 *
 * Without it every payment of an outage waits the online timeout before the offline rules decide.
 */

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerSettings {
  /** Online requests unanswered in a row (timed out, or not sent) that open the breaker. */
  readonly failuresToOpen: number;
  /** The shortest wait before the first probe after opening; each unanswered probe doubles it, up to MAX_BACKOFF_LEVEL times. */
  readonly probeAfterMs: number;
}

/**
 * `level` is the back-off level the next opening waits at (probeAfterMs x 2^level): kept through a
 * close by probe, so a centre that answers probes but not payments in time is asked less and less
 * often; reset by the first payment the centre answers.
 */
export type Breaker =
  | { readonly state: 'closed'; readonly failures: number; readonly level: number }
  | { readonly state: 'open'; readonly level: number; readonly probeAtMs: number }
  | { readonly state: 'half_open'; readonly level: number };

export type BreakerEvent =
  /** A payment's online request got the centre's answer (approval or decline). */
  | { readonly type: 'answered' }
  /** A payment's online request got none in time, or could not be sent. */
  | { readonly type: 'unanswered' }
  /** The clock reached the open breaker's probeAtMs. */
  | { readonly type: 'probe-due' }
  | { readonly type: 'probe-answered' }
  | { readonly type: 'probe-unanswered' };

export interface BreakerTransition {
  readonly from: BreakerState;
  readonly to: BreakerState;
  readonly event: BreakerEvent['type'];
}

export interface BreakerStep {
  readonly breaker: Breaker;
  /** Set when the state changed: what the driver logs, counts and acts on (a timer for open, a probe for half_open). */
  readonly transition: BreakerTransition | undefined;
}

/**
 * 2^3 = 8: at the default probeAfterMs (5 s) a long outage is probed every 40-60 s, and a node
 * goes back online at most about a minute after the centre returns.
 */
export const MAX_BACKOFF_LEVEL = 3;

export const CLOSED: Breaker = { state: 'closed', failures: 0, level: 0 };

export const BREAKER_DEFAULTS: BreakerSettings = { failuresToOpen: 3, probeAfterMs: 5_000 };

export function checkBreakerSettings(settings: BreakerSettings): BreakerSettings {
  const { failuresToOpen, probeAfterMs } = settings;
  if (!Number.isSafeInteger(failuresToOpen) || failuresToOpen < 1) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `failuresToOpen: must be a whole number >= 1, got ${String(failuresToOpen)}`, { field: 'failuresToOpen', value: failuresToOpen });
  }
  if (!Number.isSafeInteger(probeAfterMs) || probeAfterMs < 1) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `probeAfterMs: must be a whole number >= 1, got ${String(probeAfterMs)}`, { field: 'probeAfterMs', value: probeAfterMs });
  }
  return settings;
}

/** Only a closed breaker lets a payment ask the centre. */
export function allowsPayments(breaker: Breaker): boolean {
  return breaker.state === 'closed';
}

/**
 * How long an opening at `level` waits before its probe: probeAfterMs x 2^level, plus up to half of
 * that again. The jitter (0 <= jitter < 1, from the driver's random source) spreads the probes of a
 * fleet's nodes that lost the centre at the same moment.
 */
export function probeDelayMs(level: number, settings: BreakerSettings, jitter: number): number {
  if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`jitter must be in [0, 1), got ${jitter}`);
  const base = settings.probeAfterMs * 2 ** Math.min(Math.max(level, 0), MAX_BACKOFF_LEVEL);
  return Math.floor(base * (1 + jitter / 2));
}

/**
 * The next breaker after `event` at monotonic time `nowMs`. Events that do not apply to the state
 * change nothing: a payment's late answer (or time-out) after the breaker opened, since only a
 * probe decides when it closes; a probe result while none is in flight.
 */
export function stepBreaker(breaker: Breaker, event: BreakerEvent, settings: BreakerSettings, nowMs: number, jitter: number): BreakerStep {
  const stay: BreakerStep = { breaker, transition: undefined };
  const to = (next: Breaker): BreakerStep => ({ breaker: next, transition: { from: breaker.state, to: next.state, event: event.type } });
  const open = (level: number): Breaker => ({ state: 'open', level, probeAtMs: nowMs + probeDelayMs(level, settings, jitter) });
  const raised = Math.min(breaker.level + 1, MAX_BACKOFF_LEVEL);
  switch (breaker.state) {
    case 'closed':
      if (event.type === 'answered') return breaker.failures === 0 && breaker.level === 0 ? stay : { breaker: CLOSED, transition: undefined };
      if (event.type !== 'unanswered') return stay;
      if (breaker.failures + 1 >= settings.failuresToOpen) return to(open(breaker.level));
      return { breaker: { ...breaker, failures: breaker.failures + 1 }, transition: undefined };
    case 'open':
      return event.type === 'probe-due' && nowMs >= breaker.probeAtMs ? to({ state: 'half_open', level: breaker.level }) : stay;
    case 'half_open':
      if (event.type === 'probe-answered') return to({ state: 'closed', failures: 0, level: raised });
      if (event.type === 'probe-unanswered') return to(open(raised));
      return stay;
  }
}
