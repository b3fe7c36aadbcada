import { parseRules, type Rules } from '../rules/rules.js';

/**
 * Limits far above what a few seconds of load can reach, so almost every request runs the whole
 * rule chain to an approval: the costliest path, and the one a store sees most.
 */
export function benchRules(): Rules {
  return parseRules({
    version: 1,
    currencies: { EUR: { floorLimitMinor: 1_000_000 } },
    perCard: { windowMinutes: 24 * 60, maxCount: 1_000_000, maxAmountMinor: { EUR: 1_000_000_000_000 } },
    node: { maxStoredCount: 1_000_000_000, maxStoredAmountMinor: { EUR: 1_000_000_000_000_000 }, forwardDeadlineHours: 720 },
    hotCards: { version: 0, tokens: [] },
  });
}

export const BENCH_CURRENCY = 'EUR';
