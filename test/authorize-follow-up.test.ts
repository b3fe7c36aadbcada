import { describe, expect, it } from 'vitest';
import { isEdgepayError } from '../src/errors.js';
import { type Decision, type FollowUpOriginal, type FollowUpPrior, decideFollowUp } from '../src/authorize/index.js';

const AUTH: FollowUpOriginal = { kind: 'authorization', approved: true, amountMinor: 5_000, currency: 'EUR' };
const CAPTURE: FollowUpOriginal = { kind: 'capture', approved: true, amountMinor: 3_000, currency: 'EUR' };
const NONE: FollowUpPrior = { voided: false, refundedMinor: 0, capturedMinor: 0 };

function expectApproved(decision: Decision, reason: string): void {
  expect(decision).toEqual({ approved: true, code: '00', rule: 'follow_up', mode: 'offline', reason });
}

function expectRefused(decision: Decision, code: '57' | '61', reason: RegExp): void {
  expect(decision).toMatchObject({ approved: false, code, rule: 'follow_up', mode: 'offline' });
  expect(decision.reason).toMatch(reason);
}

describe('decideFollowUp: common refusals', () => {
  it.each(['void', 'refund', 'capture'] as const)('%s: refuses a missing original', (kind) => {
    expectRefused(decideFollowUp(kind, undefined, NONE, 100, 'EUR'), '57', new RegExp(`^${kind} refused: the original transaction is not in the journal$`));
  });

  it.each(['void', 'refund', 'capture'] as const)('%s: refuses a declined original', (kind) => {
    expectRefused(decideFollowUp(kind, { ...AUTH, approved: false }, NONE, 5_000, 'EUR'), '57', /was declined, so no money moved/);
  });

  it.each(['void', 'refund', 'capture'] as const)('%s: refuses a voided original', (kind) => {
    expectRefused(decideFollowUp(kind, AUTH, { ...NONE, voided: true }, 5_000, 'EUR'), '57', /already voided/);
  });

  it.each(['void', 'refund', 'capture'] as const)('%s: refuses a different currency', (kind) => {
    expectRefused(decideFollowUp(kind, AUTH, NONE, 5_000, 'USD'), '57', /currency USD differs from the original's EUR/);
  });

  it.each(['void', 'capture'] as const)('%s: refuses anything but an authorization as the original', (kind) => {
    expectRefused(decideFollowUp(kind, CAPTURE, NONE, 3_000, 'EUR'), '57', /must refer to an authorization, but the original is a capture/);
  });

  it('refund: refuses a refund or void as the original', () => {
    expectRefused(decideFollowUp('refund', { ...AUTH, kind: 'refund' }, NONE, 100, 'EUR'), '57', /authorization or capture, but the original is a refund/);
  });

  it.each([0, -5, 1.5, Number.NaN])('throws EDGEPAY_AMOUNT_INVALID for amountMinor %s', (amountMinor) => {
    let error: unknown;
    try {
      decideFollowUp('refund', AUTH, NONE, amountMinor, 'EUR');
    } catch (caught) {
      error = caught;
    }
    expect(isEdgepayError(error, 'EDGEPAY_AMOUNT_INVALID')).toBe(true);
  });

  it('throws EDGEPAY_AMOUNT_INVALID for a corrupt prior total', () => {
    expect(() => decideFollowUp('refund', AUTH, { ...NONE, refundedMinor: -1 }, 1, 'EUR')).toThrow(/prior.refundedMinor/);
  });
});

describe('decideFollowUp: void', () => {
  it('approves a void of the full amount with 00', () => {
    expectApproved(decideFollowUp('void', AUTH, NONE, 5_000, 'EUR'), 'void of 50.00 EUR approved');
  });

  it('refuses a partial void with 57', () => {
    expectRefused(decideFollowUp('void', AUTH, NONE, 4_999, 'EUR'), '57', /must be for the full original 50.00 EUR, not 49.99 EUR/);
  });

  it('refuses a void above the original with 61', () => {
    expectRefused(decideFollowUp('void', AUTH, NONE, 5_001, 'EUR'), '61', /50.01 EUR is more than the original 50.00 EUR/);
  });

  it('refuses a void once money was captured or refunded, so it cannot move twice', () => {
    expectRefused(decideFollowUp('void', AUTH, { ...NONE, capturedMinor: 1 }, 5_000, 'EUR'), '57', /0.01 EUR of it is already captured/);
    expectRefused(decideFollowUp('void', AUTH, { ...NONE, refundedMinor: 200 }, 5_000, 'EUR'), '57', /2.00 EUR of it is already refunded/);
  });
});

describe('decideFollowUp: refund', () => {
  it('approves below what is left', () => {
    expectApproved(decideFollowUp('refund', AUTH, { ...NONE, refundedMinor: 1_000 }, 3_999, 'EUR'), 'refund of 39.99 EUR approved (49.99 EUR of 50.00 EUR refunded)');
  });

  it('approves exactly what is left', () => {
    expectApproved(decideFollowUp('refund', AUTH, { ...NONE, refundedMinor: 1_000 }, 4_000, 'EUR'), 'refund of 40.00 EUR approved (50.00 EUR of 50.00 EUR refunded)');
  });

  it('refuses one minor unit more than what is left with 61', () => {
    expectRefused(
      decideFollowUp('refund', AUTH, { ...NONE, refundedMinor: 1_000 }, 4_001, 'EUR'),
      '61',
      /^refund refused: 10.00 EUR already refunded plus 40.01 EUR would make 50.01 EUR, more than the original 50.00 EUR$/,
    );
  });

  it('refunds against a capture', () => {
    expect(decideFollowUp('refund', CAPTURE, NONE, 3_000, 'EUR').approved).toBe(true);
    expect(decideFollowUp('refund', CAPTURE, NONE, 3_001, 'EUR').code).toBe('61');
  });
});

describe('decideFollowUp: capture', () => {
  it('approves below, at, and refuses above what is left', () => {
    const prior = { ...NONE, capturedMinor: 2_000 };
    expect(decideFollowUp('capture', AUTH, prior, 2_999, 'EUR').approved).toBe(true);
    expectApproved(decideFollowUp('capture', AUTH, prior, 3_000, 'EUR'), 'capture of 30.00 EUR approved (50.00 EUR of 50.00 EUR captured)');
    expectRefused(decideFollowUp('capture', AUTH, prior, 3_001, 'EUR'), '61', /20.00 EUR already captured plus 30.01 EUR/);
  });
});
