import { BadInputError } from '../errors.js';
import { completenessProblems, problemsFromIssues } from './problems.js';
import { rulesSchema, type ParsedRulesConfig } from './schema.js';

export type { RulesConfig } from './schema.js';

/**
 * Maps keyed by currency code. They have no prototype, so a request for currency "constructor" or
 * "__proto__" finds nothing instead of an Object.prototype member.
 */
export type PerCurrency<T> = Readonly<Record<string, T>>;

export interface CurrencyRules {
  readonly floorLimitMinor: number;
}

/**
 * Offline authorization rules after validation. Build them with parseRules: decideAuthorization
 * relies on its cross-checks (every accepted currency has every limit).
 */
export interface Rules {
  readonly version: number;
  readonly currencies: PerCurrency<CurrencyRules>;
  readonly perCard: {
    readonly windowMinutes: number;
    readonly maxCount: number;
    readonly maxAmountMinor: PerCurrency<number>;
  };
  readonly node: {
    readonly maxStoredCount: number;
    readonly maxStoredAmountMinor: PerCurrency<number>;
    readonly forwardDeadlineHours: number;
  };
  readonly hotCards: {
    readonly version: number;
    /** A set because every authorization looks a token up, and hot lists run to many thousands. */
    readonly tokens: ReadonlySet<string>;
  };
}

export function parseRules(input: unknown): Rules {
  const result = rulesSchema.safeParse(input, { reportInput: true });
  const problems = [...(result.success ? [] : problemsFromIssues(result.error.issues)), ...completenessProblems(input)];
  if (!result.success || problems.length > 0) throw new BadInputError('offline rules', problems);
  return freezeRules(result.data);
}

function freezeRules(config: ParsedRulesConfig): Rules {
  return Object.freeze({
    version: config.version,
    currencies: perCurrency(config.currencies, (c) => Object.freeze({ floorLimitMinor: c.floorLimitMinor })),
    perCard: Object.freeze({
      windowMinutes: config.perCard.windowMinutes,
      maxCount: config.perCard.maxCount,
      maxAmountMinor: perCurrency(config.perCard.maxAmountMinor, (v) => v),
    }),
    node: Object.freeze({
      maxStoredCount: config.node.maxStoredCount,
      maxStoredAmountMinor: perCurrency(config.node.maxStoredAmountMinor, (v) => v),
      forwardDeadlineHours: config.node.forwardDeadlineHours,
    }),
    hotCards: Object.freeze({ version: config.hotCards.version, tokens: new Set(config.hotCards.tokens) }),
  });
}

function perCurrency<A, B>(source: Readonly<Record<string, A>>, map: (value: A) => B): PerCurrency<B> {
  const out: Record<string, B> = Object.create(null) as Record<string, B>;
  for (const [currency, value] of Object.entries(source)) out[currency] = map(value);
  return Object.freeze(out);
}
