import type { z } from 'zod';
import type { FieldProblem } from '../errors.js';
import { isCurrencyCode } from '../money/index.js';

type Path = readonly PropertyKey[];

export function pathToString(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Zod reports unknown keys once per object; an operator needs one line per key, each with its own path. */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const container = isRecord(issue.input) ? issue.input : {};
      for (const key of issue.keys) {
        problems.push({ path: pathToString([...issue.path, key]), message: issue.message, value: container[key] });
      }
    } else if (issue.code === 'invalid_key') {
      // The record's own message describes the whole map; the key schema's says what is wrong with this key.
      problems.push({ path: pathToString(issue.path), message: issue.issues[0]?.message ?? issue.message, value: issue.input });
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      problems.push({ path: pathToString(issue.path), message: `is missing; ${issue.message}` });
    } else {
      problems.push({ path: pathToString(issue.path), message: issue.message, value: issue.input });
    }
  }
  return problems;
}

/**
 * Limits keyed by currency must cover exactly the accepted currencies: a missing entry would leave a
 * currency unlimited, an extra one hints at a typo. Runs on the raw input so it is reported together
 * with the schema's problems rather than after they are fixed.
 */
export function completenessProblems(input: unknown): FieldProblem[] {
  if (!isRecord(input)) return [];
  const problems = protoKeyProblems(input);
  if (!isRecord(input.currencies)) return problems;
  const accepted = Object.keys(input.currencies).filter(isCurrencyCode);
  for (const [section, field] of [
    ['perCard', 'maxAmountMinor'],
    ['node', 'maxStoredAmountMinor'],
  ] as const) {
    const sectionValue = input[section];
    const limits = isRecord(sectionValue) ? sectionValue[field] : undefined;
    if (!isRecord(limits)) continue;
    for (const currency of Object.keys(limits)) {
      if (isCurrencyCode(currency) && !accepted.includes(currency)) {
        problems.push({
          path: `${section}.${field}.${currency}`,
          message: `currency ${currency} is not in currencies (accepted: ${accepted.join(', ') || 'none'}); add it there or remove this limit`,
          value: limits[currency],
        });
      }
    }
    for (const currency of accepted) {
      if (!Object.hasOwn(limits, currency)) {
        problems.push({
          path: `${section}.${field}.${currency}`,
          message: `is missing; every currency in currencies needs a limit here (a whole number >= 0, minor units)`,
        });
      }
    }
  }
  return problems;
}

/**
 * zod drops a "__proto__" key from records without a word (JSON.parse does create it as an own
 * key), so a rules file carrying one would pass with a key silently ignored.
 */
function protoKeyProblems(input: Record<string, unknown>): FieldProblem[] {
  const maps: Array<readonly [string, unknown]> = [['currencies', input.currencies]];
  for (const [section, field] of [
    ['perCard', 'maxAmountMinor'],
    ['node', 'maxStoredAmountMinor'],
  ] as const) {
    const sectionValue = input[section];
    if (isRecord(sectionValue)) maps.push([`${section}.${field}`, sectionValue[field]]);
  }
  return maps.filter(([, map]) => isRecord(map) && Object.hasOwn(map, '__proto__')).map(([path]) => ({ path: `${path}.__proto__`, message: 'is not a supported ISO 4217 currency code' }));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
