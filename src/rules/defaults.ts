import { parseRules, type Rules, type RulesConfig } from './rules.js';

/**
 * Conservative values for a grocery-sized store: offline approvals cover a basket, not a television,
 * and a node stops approving after two days without forwarding (inside the 24-72h commercial norm).
 */
export function defaultRulesConfig(): RulesConfig {
  return {
    version: 1,
    currencies: {
      EUR: { floorLimitMinor: 5_000 },
      USD: { floorLimitMinor: 5_000 },
      GBP: { floorLimitMinor: 5_000 },
    },
    perCard: {
      windowMinutes: 24 * 60,
      maxCount: 3,
      maxAmountMinor: { EUR: 15_000, USD: 15_000, GBP: 15_000 },
    },
    node: {
      maxStoredCount: 500,
      maxStoredAmountMinor: { EUR: 2_000_000, USD: 2_000_000, GBP: 2_000_000 },
      forwardDeadlineHours: 48,
    },
    hotCards: { version: 0, tokens: [] },
  };
}

export function defaultRules(): Rules {
  return parseRules(defaultRulesConfig());
}
