import { parseRules, type Rules } from '../rules/rules.js';

/**
 * The demo store's offline rules: tight enough that a day's trading meets every rule, with numbers a
 * reader can check in the summary by hand.
 */
export function demoStoreRules(hotTokens: readonly string[]): Rules {
  return parseRules({
    version: 1,
    currencies: { EUR: { floorLimitMinor: 10_000 }, GBP: { floorLimitMinor: 8_000 } },
    perCard: { windowMinutes: 24 * 60, maxCount: 4, maxAmountMinor: { EUR: 15_000, GBP: 12_000 } },
    node: { maxStoredCount: 200, maxStoredAmountMinor: { EUR: 900_000, GBP: 40_000 }, forwardDeadlineHours: 6 },
    hotCards: { version: 7, tokens: [...hotTokens] },
  });
}
