import { describe, expect, it } from 'vitest';
import { isEdgepayError } from '../src/errors.js';
import { type AuthorizationInput, type Decision, type ExposureTotals, type ExposureView, ExposureState, type Rules, decideAuthorization, parseRules, systemUnavailable } from '../src/authorize/index.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);
const WINDOW_MS = 60 * MINUTE_MS;

function testRules(overrides: { maxCount?: number } = {}): Rules {
  return parseRules({
    version: 4,
    currencies: { EUR: { floorLimitMinor: 5_000 }, USD: { floorLimitMinor: 5_000 } },
    perCard: { windowMinutes: 60, maxCount: overrides.maxCount ?? 3, maxAmountMinor: { EUR: 10_000, USD: 10_000 } },
    node: { maxStoredCount: 5, maxStoredAmountMinor: { EUR: 20_000, USD: 20_000 }, forwardDeadlineHours: 2 },
    hotCards: { version: 7, tokens: ['tok-hot'] },
  });
}

const RULES = testRules();

function request(overrides: { amountMinor?: number; currency?: string; card?: Partial<AuthorizationInput['card']> } = {}): AuthorizationInput {
  return {
    amountMinor: overrides.amountMinor ?? 1_000,
    currency: overrides.currency ?? 'EUR',
    card: { token: 'tok-a', expiryYear: 2027, expiryMonth: 12, checkDigitValid: true, ...overrides.card },
  };
}

/** Builds exposure through the real ExposureState, the way the journal owner feeds it. */
function exposureWith(approvals: ReadonlyArray<{ token?: string; currency?: string; amountMinor?: number; wallMs?: number }>): ExposureState {
  const state = new ExposureState();
  approvals.forEach((a, seq) => state.recordApproval({ seq, token: a.token ?? 'tok-a', currency: a.currency ?? 'EUR', amountMinor: a.amountMinor ?? 100, wallMs: a.wallMs ?? NOW }));
  return state;
}

function decide(req: AuthorizationInput = request(), exposure: ExposureView = new ExposureState(), rules = RULES, now = NOW): Decision {
  return decideAuthorization(req, exposure, rules, now);
}

function expectApproved(decision: Decision): void {
  expect(decision).toMatchObject({ approved: true, code: 'Y3', rule: 'approved', mode: 'offline' });
}

function expectDeclined(decision: Decision, code: Decision['code'], rule: Decision['rule']): void {
  expect(decision).toMatchObject({ approved: false, code, rule, mode: 'offline' });
}

describe('decideAuthorization: approval', () => {
  it('approves offline with Y3 and reports the numbers it checked', () => {
    const decision = decide(request({ amountMinor: 1_234 }), exposureWith([{ amountMinor: 500 }]));
    expectApproved(decision);
    expect(decision.reason).toContain('12.34 EUR within floor limit 50.00 EUR');
    expect(decision.reason).toContain('card 2/3 approvals and 17.34 EUR of 100.00 EUR in 60 min');
    expect(decision.reason).toContain('node 2/5 stored');
  });

  it('is pure: it reads exposure without changing it, and repeats itself', () => {
    const exposure = exposureWith([{ amountMinor: 500 }, { token: 'tok-b' }]);
    const before = exposure.stats();
    const first = decide(request(), exposure);
    expect(decide(request(), exposure)).toEqual(first);
    expect(exposure.stats()).toEqual(before);
    expect(exposure.cardWindow('tok-a', 'EUR', 0)).toEqual({ count: 1, amountMinor: 500 });
  });
});

describe('decideAuthorization: card checks', () => {
  it('declines a currency the rules do not accept with 57, naming it and the accepted list', () => {
    const decision = decide(request({ currency: 'GBP' }));
    expectDeclined(decision, '57', 'currency');
    expect(decision.reason).toBe('currency "GBP" is not accepted offline (accepted: EUR, USD)');
  });

  it.each(['XXX', 'eur', '', 'constructor', '__proto__', 'toString'])('declines currency %j without touching prototypes', (currency) => {
    expectDeclined(decide(request({ currency })), '57', 'currency');
  });

  it('declines a card failing its check digit with 14', () => {
    const decision = decide(request({ card: { checkDigitValid: false } }));
    expectDeclined(decision, '14', 'check_digit');
    expect(decision.reason).toMatch(/Luhn/);
  });

  it('declines a hot-listed card with 05, naming the list version', () => {
    const decision = decide(request({ card: { token: 'tok-hot' } }));
    expectDeclined(decision, '05', 'hot_card');
    expect(decision.reason).toContain('version 7');
  });
});

describe('decideAuthorization: expiry month end (UTC)', () => {
  const june2025 = { expiryYear: 2025, expiryMonth: 6 };
  const julyFirst = Date.UTC(2025, 6, 1);

  it('approves on the last millisecond of the expiry month', () => {
    expectApproved(decide(request({ card: june2025 }), undefined, undefined, julyFirst - 1));
  });

  it('approves well before the end of the month', () => {
    expectApproved(decide(request({ card: june2025 }), undefined, undefined, Date.UTC(2025, 5, 1)));
  });

  it('declines with 54 from the first millisecond of the next month', () => {
    const decision = decide(request({ card: june2025 }), undefined, undefined, julyFirst);
    expectDeclined(decision, '54', 'expiry');
    expect(decision.reason).toBe('card expired at the end of 2025-06 (UTC); now is 2025-07-01T00:00:00.000Z');
  });

  it('handles a December expiry crossing into the next year', () => {
    const december = { expiryYear: 2025, expiryMonth: 12 };
    const newYear = Date.UTC(2026, 0, 1);
    expectApproved(decide(request({ card: december }), undefined, undefined, newYear - 1));
    expectDeclined(decide(request({ card: december }), undefined, undefined, newYear), '54', 'expiry');
  });

  it.each([
    [2027, 0],
    [2027, 13],
    [2027, 6.5],
    [27, 6],
    [Number.NaN, 6],
  ])('declines an impossible expiry %i-%i with 54 instead of guessing a date', (expiryYear, expiryMonth) => {
    const decision = decide(request({ card: { expiryYear, expiryMonth } }));
    expectDeclined(decision, '54', 'expiry');
    expect(decision.reason).toMatch(/not a valid year and month/);
  });
});

describe('decideAuthorization: floor limit', () => {
  it('approves below the floor limit', () => {
    expectApproved(decide(request({ amountMinor: 4_999 })));
  });

  it('approves exactly at the floor limit', () => {
    expectApproved(decide(request({ amountMinor: 5_000 })));
  });

  it('declines one minor unit above the floor limit with Z3 (must go online)', () => {
    const decision = decide(request({ amountMinor: 5_001 }));
    expectDeclined(decision, 'Z3', 'floor_limit');
    expect(decision.reason).toBe('50.01 EUR is above the offline floor limit of 50.00 EUR; it must be authorized online');
  });
});

describe('decideAuthorization: forward deadline', () => {
  const deadlineMs = 2 * HOUR_MS;
  const stuck = (ageMs: number) => exposureWith([{ token: 'tok-old', wallMs: NOW - ageMs }]);

  it('approves while the oldest unforwarded approval is younger than the deadline', () => {
    expectApproved(decide(request(), stuck(deadlineMs - 1)));
  });

  it('approves when the oldest is exactly as old as the deadline', () => {
    expectApproved(decide(request(), stuck(deadlineMs)));
  });

  it('declines with Z3 one millisecond past the deadline', () => {
    const decision = decide(request(), stuck(deadlineMs + 1));
    expectDeclined(decision, 'Z3', 'forward_deadline');
    expect(decision.reason).toContain('2h 0m 0.001s old, past the 2h forward deadline');
  });

  it('stops counting an approval once it is forwarded', () => {
    const exposure = stuck(deadlineMs + 1);
    exposure.markForwarded(0);
    expectApproved(decide(request(), exposure));
  });
});

describe('decideAuthorization: per-card count', () => {
  const priorApprovals = (n: number) => exposureWith(Array.from({ length: n }, () => ({ amountMinor: 100 })));

  it('approves below the count limit', () => {
    expectApproved(decide(request(), priorApprovals(1)));
  });

  it('approves the approval that reaches the limit', () => {
    expectApproved(decide(request(), priorApprovals(2)));
  });

  it('declines with 65 once the limit is used', () => {
    const decision = decide(request(), priorApprovals(3));
    expectDeclined(decision, '65', 'card_count');
    expect(decision.reason).toBe('card already has 3 offline approval(s) in the last 60 min; the limit is 3');
  });

  it('counts approvals in every currency', () => {
    const exposure = exposureWith([{ currency: 'USD' }, { currency: 'USD' }, { currency: 'EUR' }]);
    expectDeclined(decide(request(), exposure), '65', 'card_count');
  });

  it('declines everything when the limit is 0', () => {
    expectDeclined(decide(request(), new ExposureState(), testRules({ maxCount: 0 })), '65', 'card_count');
  });

  it('does not count other cards', () => {
    const exposure = exposureWith([{ token: 'tok-b' }, { token: 'tok-b' }, { token: 'tok-b' }]);
    expectApproved(decide(request(), exposure));
  });
});

describe('decideAuthorization: per-card window edge (inclusive)', () => {
  const rules = testRules({ maxCount: 1 });
  const priorAt = (wallMs: number) => exposureWith([{ wallMs }]);

  it('counts an approval exactly windowMinutes ago', () => {
    expectDeclined(decide(request(), priorAt(NOW - WINDOW_MS), rules), '65', 'card_count');
  });

  it('counts an approval just inside the window', () => {
    expectDeclined(decide(request(), priorAt(NOW - WINDOW_MS + 1), rules), '65', 'card_count');
  });

  it('forgets an approval one millisecond older than the window', () => {
    expectApproved(decide(request(), priorAt(NOW - WINDOW_MS - 1), rules));
  });

  it('counts an approval stamped after now (the wall clock stepped back)', () => {
    expectDeclined(decide(request(), priorAt(NOW + HOUR_MS), rules), '65', 'card_count');
  });
});

describe('decideAuthorization: per-card amount', () => {
  const spent = (amountMinor: number) => exposureWith([{ amountMinor }]);

  it('approves below the amount limit', () => {
    expectApproved(decide(request({ amountMinor: 3_999 }), spent(6_000)));
  });

  it('approves the amount that reaches the limit exactly', () => {
    expectApproved(decide(request({ amountMinor: 4_000 }), spent(6_000)));
  });

  it('declines with 61 one minor unit above the limit', () => {
    const decision = decide(request({ amountMinor: 4_001 }), spent(6_000));
    expectDeclined(decision, '61', 'card_amount');
    expect(decision.reason).toBe('card has spent 60.00 EUR offline in the last 60 min; another 40.01 EUR would make 100.01 EUR, above the limit of 100.00 EUR');
  });

  it('keeps each currency to its own amount limit', () => {
    const exposure = exposureWith([{ currency: 'USD', amountMinor: 9_000 }]);
    expectApproved(decide(request({ amountMinor: 5_000, currency: 'EUR' }), exposure));
    expectDeclined(decide(request({ amountMinor: 5_000, currency: 'USD' }), exposure), '61', 'card_amount');
  });

  it('forgets a voided approval', () => {
    const exposure = spent(6_000);
    exposure.recordRelease(0);
    expectApproved(decide(request({ amountMinor: 5_000 }), exposure));
  });
});

describe('decideAuthorization: node stored count', () => {
  const stored = (n: number) => exposureWith(Array.from({ length: n }, (_, i) => ({ token: `tok-other-${i}` })));

  it('approves below the node count limit', () => {
    expectApproved(decide(request(), stored(3)));
  });

  it('approves the approval that fills the node', () => {
    expectApproved(decide(request(), stored(4)));
  });

  it('declines with Z3 when the node is full', () => {
    const decision = decide(request(), stored(5));
    expectDeclined(decision, 'Z3', 'node_count');
    expect(decision.reason).toBe('node already holds 5 unforwarded offline approval(s); the limit is 5');
  });

  it('makes room as approvals are forwarded', () => {
    const exposure = stored(5);
    exposure.markForwarded(2);
    expectApproved(decide(request(), exposure));
  });
});

describe('decideAuthorization: node stored amount', () => {
  const stored = exposureWith([
    { token: 'tok-b', amountMinor: 8_000 },
    { token: 'tok-c', amountMinor: 8_000 },
    { token: 'tok-d', currency: 'USD', amountMinor: 9_999 },
  ]);

  it('approves below the node amount limit', () => {
    expectApproved(decide(request({ amountMinor: 3_999 }), stored));
  });

  it('approves the amount that fills the node exactly', () => {
    expectApproved(decide(request({ amountMinor: 4_000 }), stored));
  });

  it('declines with Z3 one minor unit above the node amount limit', () => {
    const decision = decide(request({ amountMinor: 4_001 }), stored);
    expectDeclined(decision, 'Z3', 'node_amount');
    expect(decision.reason).toBe('node already holds 160.00 EUR unforwarded; another 40.01 EUR would make 200.01 EUR, above the limit of 200.00 EUR');
  });
});

describe('decideAuthorization: rule precedence', () => {
  /** A view reporting whatever totals a step needs, so every limit can fail at once. */
  function stubView(state: { card: ExposureTotals; node: ExposureTotals; oldest: number | null }): ExposureView {
    return { cardWindow: () => state.card, nodeStored: () => state.node, oldestUnforwardedWallMs: () => state.oldest };
  }

  it('reports the first failing rule, and the next one once that is cured', () => {
    const card = { token: 'tok-hot', expiryYear: 2024, expiryMonth: 1, checkDigitValid: false };
    let req: AuthorizationInput = { amountMinor: 6_000, currency: 'GBP', card };
    const view: { card: ExposureTotals; node: ExposureTotals; oldest: number | null } = {
      card: { count: 3, amountMinor: 9_000 },
      node: { count: 5, amountMinor: 19_000 },
      oldest: NOW - 3 * HOUR_MS,
    };
    const cures: Array<[Decision['rule'], () => void]> = [
      ['currency', () => (req = { ...req, currency: 'EUR' })],
      ['check_digit', () => (req = { ...req, card: { ...req.card, checkDigitValid: true } })],
      ['expiry', () => (req = { ...req, card: { ...req.card, expiryYear: 2030 } })],
      ['hot_card', () => (req = { ...req, card: { ...req.card, token: 'tok-a' } })],
      ['floor_limit', () => (req = { ...req, amountMinor: 2_000 })],
      ['forward_deadline', () => (view.oldest = null)],
      ['card_count', () => (view.card = { count: 2, amountMinor: 9_000 })],
      ['card_amount', () => (view.card = { count: 2, amountMinor: 1_000 })],
      ['node_count', () => (view.node = { count: 4, amountMinor: 19_000 })],
      ['node_amount', () => (view.node = { count: 4, amountMinor: 1_000 })],
    ];
    for (const [rule, cure] of cures) {
      expect(decide(req, stubView(view)).rule).toBe(rule);
      cure();
    }
    expectApproved(decide(req, stubView(view)));
  });
});

describe('decideAuthorization: bad input from the caller', () => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('throws EDGEPAY_AMOUNT_INVALID for amountMinor %s', (amountMinor) => {
    let error: unknown;
    try {
      decide(request({ amountMinor }));
    } catch (caught) {
      error = caught;
    }
    expect(isEdgepayError(error, 'EDGEPAY_AMOUNT_INVALID')).toBe(true);
  });

  it('throws for a wall time that is not whole milliseconds', () => {
    expect(() => decide(request(), undefined, undefined, Number.NaN)).toThrow(RangeError);
    expect(() => decide(request(), undefined, undefined, 9e15)).toThrow(RangeError);
  });

  it('throws EDGEPAY_RULES_INVALID for hand-built rules missing a currency limit', () => {
    const broken: Rules = { ...RULES, perCard: { ...RULES.perCard, maxAmountMinor: { USD: 1 } } };
    let error: unknown;
    try {
      decide(request(), undefined, broken);
    } catch (caught) {
      error = caught;
    }
    expect(isEdgepayError(error, 'EDGEPAY_RULES_INVALID')).toBe(true);
  });
});

describe('systemUnavailable', () => {
  it('declines with 91 from the system rule', () => {
    expect(systemUnavailable('journal is read-only')).toEqual({
      approved: false,
      code: '91',
      reason: 'journal is read-only',
      rule: 'system',
      mode: 'offline',
    });
  });
});
