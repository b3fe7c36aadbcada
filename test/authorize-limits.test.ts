import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type AuthorizationInput, type Decision, ExposureState, decideAuthorization, parseRules } from '../src/authorize/index.js';

/*
 * A simulated trading day: random requests from a small pool of cards, with time moving on (and, in
 * some runs, the wall clock stepping back), forwarding and voids in between. Every approval is fed
 * back into ExposureState the way the journal owner does it, and an independent record of the
 * approvals is checked against every limit.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const START = Date.UTC(2025, 5, 15, 8, 0, 0);

const RULES = parseRules({
  version: 1,
  currencies: { EUR: { floorLimitMinor: 3_000 }, USD: { floorLimitMinor: 2_500 } },
  perCard: { windowMinutes: 60, maxCount: 3, maxAmountMinor: { EUR: 6_000, USD: 5_000 } },
  node: { maxStoredCount: 6, maxStoredAmountMinor: { EUR: 9_000, USD: 7_000 }, forwardDeadlineHours: 2 },
  hotCards: { version: 2, tokens: ['card-hot'] },
});
const WINDOW_MS = RULES.perCard.windowMinutes * MINUTE_MS;
const DEADLINE_MS = RULES.node.forwardDeadlineHours * HOUR_MS;

const GOOD = { expiryYear: 2030, expiryMonth: 1, checkDigitValid: true };
const CARDS: ReadonlyArray<AuthorizationInput['card']> = [
  { token: 'card-0', ...GOOD },
  { token: 'card-1', ...GOOD },
  { token: 'card-2', ...GOOD },
  { token: 'card-3', ...GOOD },
  { token: 'card-4', ...GOOD },
  { token: 'card-5', ...GOOD },
  { token: 'card-hot', ...GOOD },
  { token: 'card-expired', ...GOOD, expiryYear: 2024, expiryMonth: 12 },
  { token: 'card-luhn', ...GOOD, checkDigitValid: false },
];
const BAD_TOKENS = new Set(['card-hot', 'card-expired', 'card-luhn']);

interface Step {
  readonly advanceMs: number;
  readonly stepBackMs: number;
  readonly card: number;
  readonly currency: string;
  readonly amountMinor: number;
  readonly action: 'none' | 'forward' | 'void';
  readonly pick: number;
}

const GOOD_CARDS = CARDS.filter((c) => !BAD_TOKENS.has(c.token)).length;

// Weighted towards good cards in accepted currencies and short gaps, so the limits are actually reached.
const stepArb: fc.Arbitrary<Step> = fc.record({
  advanceMs: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 12, arbitrary: fc.integer({ min: 0, max: 10 * MINUTE_MS }) }, { weight: 1, arbitrary: fc.integer({ min: HOUR_MS, max: 3 * HOUR_MS }) }),
  stepBackMs: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 90 * MINUTE_MS }) }),
  card: fc.oneof({ weight: 8, arbitrary: fc.nat(GOOD_CARDS - 1) }, { weight: 2, arbitrary: fc.integer({ min: GOOD_CARDS, max: CARDS.length - 1 }) }),
  currency: fc.oneof({ weight: 9, arbitrary: fc.constantFrom('EUR', 'USD') }, { weight: 1, arbitrary: fc.constant('GBP') }),
  amountMinor: fc.integer({ min: 1, max: 3_500 }),
  action: fc.constantFrom('none', 'none', 'none', 'forward', 'void'),
  pick: fc.nat(100),
});

interface Approved {
  readonly seq: number;
  readonly token: string;
  readonly currency: string;
  readonly amountMinor: number;
  readonly wallMs: number;
  voided: boolean;
  forwarded: boolean;
}

/** Rules seen across all runs: proves the property was not passing by never reaching a limit. */
const rulesSeen = new Set<Decision['rule']>();

function rebuild(approved: readonly Approved[]): ExposureState {
  const state = new ExposureState();
  for (const a of approved) {
    state.recordApproval(a);
    if (a.voided) state.recordRelease(a.seq);
    else if (a.forwarded) state.markForwarded(a.seq);
  }
  return state;
}

function runDay(steps: readonly Step[], clockSteps: boolean): void {
  const exposure = new ExposureState();
  const approved: Approved[] = [];
  let now = START;

  steps.forEach((step, index) => {
    now += step.advanceMs;
    if (clockSteps) now -= step.stepBackMs;

    const live = approved.filter((a) => !a.voided);
    if (step.action === 'forward') {
      for (const a of live.filter((x) => !x.forwarded).slice(0, 1 + (step.pick % 4))) {
        a.forwarded = true;
        exposure.markForwarded(a.seq);
      }
    } else if (step.action === 'void' && live.length > 0) {
      const victim = live[step.pick % live.length] as Approved;
      victim.voided = true;
      exposure.recordRelease(victim.seq);
    }
    // Pruning assumes time only moves forward; with clock steps an old approval may come back into a window.
    if (!clockSteps && index % 5 === 0) exposure.prune(now - WINDOW_MS);

    const card = CARDS[step.card] as AuthorizationInput['card'];
    const req: AuthorizationInput = { amountMinor: step.amountMinor, currency: step.currency, card };
    const decision = decideAuthorization(req, exposure, RULES, now);
    rulesSeen.add(decision.rule);
    expect(decideAuthorization(req, exposure, RULES, now)).toEqual(decision);
    if (index % 7 === 0) expect(decideAuthorization(req, rebuild(approved), RULES, now)).toEqual(decision);
    expect(decision.mode).toBe('offline');
    expect(decision.approved).toBe(decision.code === 'Y3');

    if (decision.approved) {
      expect(BAD_TOKENS.has(card.token)).toBe(false);
      expect(step.amountMinor).toBeLessThanOrEqual(RULES.currencies[step.currency]?.floorLimitMinor ?? -1);
      const unforwarded = approved.filter((a) => !a.voided && !a.forwarded);
      for (const a of unforwarded) expect(now - a.wallMs).toBeLessThanOrEqual(DEADLINE_MS);
      const entry: Approved = { seq: index, token: card.token, currency: step.currency, amountMinor: step.amountMinor, wallMs: now, voided: false, forwarded: false };
      approved.push(entry);
      exposure.recordApproval(entry);
    }

    const stored = approved.filter((a) => !a.voided && !a.forwarded);
    expect(stored.length).toBeLessThanOrEqual(RULES.node.maxStoredCount);
    for (const currency of ['EUR', 'USD']) {
      const storedMinor = stored.filter((a) => a.currency === currency).reduce((sum, a) => sum + a.amountMinor, 0);
      expect(storedMinor).toBeLessThanOrEqual(RULES.node.maxStoredAmountMinor[currency] ?? -1);
    }
  });

  // Any window's fullest placement starts at some approval, so checking those covers every window.
  const live = approved.filter((a) => !a.voided);
  for (const start of live) {
    const inWindow = live.filter((a) => a.token === start.token && a.wallMs >= start.wallMs && a.wallMs <= start.wallMs + WINDOW_MS);
    expect(inWindow.length).toBeLessThanOrEqual(RULES.perCard.maxCount);
    for (const currency of ['EUR', 'USD']) {
      const spentMinor = inWindow.filter((a) => a.currency === currency).reduce((sum, a) => sum + a.amountMinor, 0);
      expect(spentMinor).toBeLessThanOrEqual(RULES.perCard.maxAmountMinor[currency] ?? -1);
    }
  }
}

describe('offline limits over random trading days', () => {
  afterAll(() => {
    expect([...rulesSeen].sort()).toEqual(['approved', 'card_amount', 'card_count', 'check_digit', 'currency', 'expiry', 'floor_limit', 'forward_deadline', 'hot_card', 'node_amount', 'node_count'].sort());
  });

  it('never lets a card or the node exceed a limit, and decides deterministically', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 120, size: 'max' }), (steps) => runDay(steps, false)),
      { numRuns: 300 },
    );
  });

  it('keeps the per-card limits when the wall clock steps back', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 120, size: 'max' }), (steps) => runDay(steps, true)),
      { numRuns: 300 },
    );
  });
});
