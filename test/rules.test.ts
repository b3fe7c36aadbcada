import { describe, expect, it } from 'vitest';
import { BadInputError, type FieldProblem, isEdgepayError } from '../src/errors.js';
import { defaultRules, defaultRulesConfig, parseRules } from '../src/authorize/index.js';

type Json = Record<string, unknown>;

/** A deep copy of the default config as plain JSON, so a test can break any field of it. */
function config(): Json {
  return JSON.parse(JSON.stringify(defaultRulesConfig())) as Json;
}

function section(input: Json, ...keys: string[]): Json {
  let node: Json = input;
  for (const key of keys) node = node[key] as Json;
  return node;
}

function problemsOf(input: unknown): readonly FieldProblem[] {
  try {
    parseRules(input);
  } catch (error) {
    expect(error).toBeInstanceOf(BadInputError);
    expect(isEdgepayError(error, 'EDGEPAY_BAD_INPUT')).toBe(true);
    return (error as BadInputError).problems;
  }
  throw new Error('parseRules accepted an invalid input');
}

function onlyProblem(input: unknown): FieldProblem {
  const problems = problemsOf(input);
  expect(problems).toHaveLength(1);
  return problems[0] as FieldProblem;
}

describe('parseRules: valid input', () => {
  it('accepts the default config and gives the documented store values', () => {
    const rules = parseRules(defaultRulesConfig());
    expect(rules.version).toBe(1);
    expect(Object.keys(rules.currencies).sort()).toEqual(['EUR', 'GBP', 'USD']);
    expect(rules.currencies.EUR).toEqual({ floorLimitMinor: 5_000 });
    expect(rules.perCard).toMatchObject({ windowMinutes: 1440, maxCount: 3 });
    expect(rules.perCard.maxAmountMinor.USD).toBe(15_000);
    expect(rules.node).toMatchObject({ maxStoredCount: 500, forwardDeadlineHours: 48 });
    expect(rules.node.maxStoredAmountMinor.GBP).toBe(2_000_000);
    expect(rules.hotCards.tokens.size).toBe(0);
    expect(defaultRules()).toEqual(rules);
  });

  it('turns hot-card tokens into a set and freezes the result', () => {
    const input = config();
    section(input, 'hotCards').tokens = ['tok-1', 'tok-2', 'tok-1'];
    const rules = parseRules(input);
    expect(rules.hotCards.tokens.has('tok-2')).toBe(true);
    expect(rules.hotCards.tokens.size).toBe(2);
    expect(Object.isFrozen(rules)).toBe(true);
    expect(Object.isFrozen(rules.perCard.maxAmountMinor)).toBe(true);
  });

  it('finds nothing for prototype names used as currency codes', () => {
    const rules = defaultRules();
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(rules.currencies[name]).toBeUndefined();
      expect(rules.perCard.maxAmountMinor[name]).toBeUndefined();
    }
  });

  it('accepts the ends of every range', () => {
    const input = config();
    section(input, 'perCard').windowMinutes = 1;
    section(input, 'node').forwardDeadlineHours = 720;
    section(input, 'perCard').maxCount = 0;
    section(input, 'currencies', 'EUR').floorLimitMinor = 0;
    section(input, 'node', 'maxStoredAmountMinor').USD = Number.MAX_SAFE_INTEGER;
    expect(() => parseRules(input)).not.toThrow();
    section(input, 'perCard').windowMinutes = 10_080;
    section(input, 'node').forwardDeadlineHours = 1;
    expect(() => parseRules(input)).not.toThrow();
  });

  it('accepts a single currency with a zero-decimal exponent', () => {
    const rules = parseRules({
      version: 3,
      currencies: { JPY: { floorLimitMinor: 10_000 } },
      perCard: { windowMinutes: 60, maxCount: 2, maxAmountMinor: { JPY: 20_000 } },
      node: { maxStoredCount: 10, maxStoredAmountMinor: { JPY: 100_000 }, forwardDeadlineHours: 24 },
      hotCards: { version: 9, tokens: ['x'] },
    });
    expect(Object.keys(rules.currencies)).toEqual(['JPY']);
  });
});

describe('parseRules: each bad field is named by its path', () => {
  it('rejects a float amount', () => {
    const input = config();
    section(input, 'currencies', 'EUR').floorLimitMinor = 50.5;
    const problem = onlyProblem(input);
    expect(problem.path).toBe('currencies.EUR.floorLimitMinor');
    expect(problem.value).toBe(50.5);
    expect(problem.message).toMatch(/whole number >= 0/);
  });

  it('rejects a negative amount', () => {
    const input = config();
    section(input, 'perCard', 'maxAmountMinor').USD = -1;
    expect(onlyProblem(input)).toMatchObject({ path: 'perCard.maxAmountMinor.USD', value: -1 });
  });

  it('rejects an amount given as a string, without coercing it', () => {
    const input = config();
    section(input, 'node', 'maxStoredAmountMinor').EUR = '5000';
    expect(onlyProblem(input)).toMatchObject({ path: 'node.maxStoredAmountMinor.EUR', value: '5000' });
  });

  it('rejects an amount past the safe-integer range', () => {
    const input = config();
    section(input, 'node', 'maxStoredAmountMinor').EUR = 2 ** 53;
    expect(onlyProblem(input).path).toBe('node.maxStoredAmountMinor.EUR');
  });

  it('rejects an unknown currency code, naming the supported ones', () => {
    const input = config();
    section(input, 'currencies').XXX = { floorLimitMinor: 100 };
    const problem = onlyProblem(input);
    expect(problem.path).toBe('currencies.XXX');
    expect(problem.message).toMatch(/ISO 4217/);
    expect(problem.message).toMatch(/EUR/);
  });

  it('rejects an unknown currency code used only in a limit map', () => {
    const input = config();
    section(input, 'perCard', 'maxAmountMinor').EURO = 100;
    expect(onlyProblem(input).path).toBe('perCard.maxAmountMinor.EURO');
  });

  it('rejects "__proto__" from JSON as a currency code', () => {
    const input = JSON.parse(JSON.stringify(defaultRulesConfig()).replace('"currencies":{', '"currencies":{"__proto__":{"floorLimitMinor":1},')) as Json;
    expect(onlyProblem(input).path).toBe('currencies.__proto__');
  });

  it('rejects a missing per-currency limit', () => {
    const input = config();
    delete section(input, 'perCard', 'maxAmountMinor').GBP;
    const problem = onlyProblem(input);
    expect(problem.path).toBe('perCard.maxAmountMinor.GBP');
    expect(problem.message).toMatch(/is missing/);
  });

  it('rejects a limit for a currency that is not accepted', () => {
    const input = config();
    section(input, 'node', 'maxStoredAmountMinor').JPY = 100;
    const problem = onlyProblem(input);
    expect(problem.path).toBe('node.maxStoredAmountMinor.JPY');
    expect(problem.message).toMatch(/not in currencies/);
  });

  it('rejects an empty currency list', () => {
    const input = config();
    input.currencies = {};
    const paths = problemsOf(input).map((p) => p.path);
    expect(paths).toContain('currencies');
    // Limits for currencies that are no longer accepted are reported too, each at its own path.
    expect(paths).toContain('perCard.maxAmountMinor.EUR');
  });

  it('rejects unknown keys at every level and lists the allowed ones', () => {
    const input = config();
    input.extra = true;
    section(input, 'currencies', 'USD').floor = 1;
    section(input, 'hotCards').list = [];
    const problems = problemsOf(input);
    expect(problems.map((p) => p.path).sort()).toEqual(['currencies.USD.floor', 'extra', 'hotCards.list']);
    const root = problems.find((p) => p.path === 'extra');
    expect(root?.message).toMatch(/unknown key.*version, currencies, perCard, node, hotCards/);
    expect(root?.value).toBe(true);
  });

  it('reports a typo as both an unknown key and a missing one', () => {
    const input = config();
    const perCard = section(input, 'perCard');
    perCard.windowMinute = perCard.windowMinutes;
    delete perCard.windowMinutes;
    const problems = problemsOf(input);
    expect(problems.map((p) => p.path).sort()).toEqual(['perCard.windowMinute', 'perCard.windowMinutes']);
    expect(problems.find((p) => p.path === 'perCard.windowMinutes')?.message).toMatch(/is missing; must be a whole number from 1 to 10080/);
  });

  it('rejects a missing section', () => {
    const input = config();
    delete input.node;
    expect(onlyProblem(input)).toMatchObject({ path: 'node' });
    expect(onlyProblem(input).message).toMatch(/is missing/);
  });

  it.each([
    ['version', 0, ['version']],
    ['version', 1.5, ['version']],
    ['perCard.windowMinutes', 0, ['perCard', 'windowMinutes']],
    ['perCard.windowMinutes', 10_081, ['perCard', 'windowMinutes']],
    ['perCard.maxCount', -1, ['perCard', 'maxCount']],
    ['node.maxStoredCount', Number.NaN, ['node', 'maxStoredCount']],
    ['node.forwardDeadlineHours', 0, ['node', 'forwardDeadlineHours']],
    ['node.forwardDeadlineHours', 721, ['node', 'forwardDeadlineHours']],
    ['hotCards.version', -1, ['hotCards', 'version']],
  ] as const)('rejects %s = %s', (path, value, keys) => {
    const input = config();
    section(input, ...keys.slice(0, -1))[keys[keys.length - 1] as string] = value;
    const problem = onlyProblem(input);
    expect(problem.path).toBe(path);
    expect(problem.message).toMatch(/must be a whole number/);
  });

  it('rejects empty and non-string hot-card tokens by index', () => {
    const input = config();
    section(input, 'hotCards').tokens = ['ok', '', 7];
    expect(problemsOf(input).map((p) => p.path)).toEqual(['hotCards.tokens[1]', 'hotCards.tokens[2]']);
  });

  it.each([null, 'rules', 42, [], undefined])('rejects a non-object input (%s) at the root', (input) => {
    expect(onlyProblem(input).path).toBe('');
  });

  it('lists every problem at once, with paths, values and the allowed range in the message', () => {
    const input = config();
    input.version = -2;
    section(input, 'currencies', 'EUR').floorLimitMinor = 1.25;
    section(input, 'perCard').windowMinutes = 99_999;
    delete section(input, 'perCard', 'maxAmountMinor').USD;
    section(input, 'node', 'maxStoredAmountMinor').GBP = -5;
    section(input, 'hotCards').tokens = [''];
    let error: unknown;
    try {
      parseRules(input);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BadInputError);
    const problems = (error as BadInputError).problems;
    expect(problems.map((p) => p.path).sort()).toEqual(['currencies.EUR.floorLimitMinor', 'hotCards.tokens[0]', 'node.maxStoredAmountMinor.GBP', 'perCard.maxAmountMinor.USD', 'perCard.windowMinutes', 'version']);
    const message = (error as Error).message;
    expect(message).toMatch(/^invalid offline rules: /);
    expect(message).toContain('perCard.windowMinutes: must be a whole number from 1 to 10080 (minutes, at most 7 days)');
    expect(problems.find((p) => p.path === 'perCard.windowMinutes')?.value).toBe(99_999);
  });
});
