import { z } from 'zod';
import { BadInputError, type FieldProblem } from './errors.js';

/*
 * Shared pieces of input validation with zod: every schema says what is allowed in its own words
 * (an operator editing a file needs the fix, not zod's type vocabulary), unknown keys are errors
 * that list the allowed ones, and failures become one named problem per bad field.
 */

/** A whole number in [min, max], with the unit in the message. */
export function wholeNumber(min: number, max: number, unit: string) {
  const error = `must be a whole number from ${min} to ${max} (${unit})`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

/** A strict object whose errors list the keys that are allowed, so a typo shows its correction. */
export function strictObject<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown key (allowed keys: ${allowed})` : `must be an object with keys ${allowed}`),
  });
}

/** Said of a key that is missing; a schema's own words for the value, if any, follow it. */
const REQUIRED = 'is required';

/**
 * Plain words for the checks a schema states no message for (a missing key, a list too long, a
 * value not among the allowed ones). Schema messages win over these; these win over zod's own
 * ("Invalid input: expected string, received undefined"), which an operator should never see.
 */
export const plainWords = (issue: z.core.$ZodRawIssue): string => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? REQUIRED : `must be ${expectedKind(issue.expected)}, got ${kindOf(issue.input)}`;
    case 'too_small':
      return `must ${sizeWords(issue.origin, 'at least', Number(issue.minimum))}`;
    case 'too_big':
      return `must ${sizeWords(issue.origin, 'at most', Number(issue.maximum))}`;
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' && 'pattern' in issue ? `has characters or a form that is not allowed (pattern ${String(issue.pattern)})` : `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return 'unknown key';
    case 'invalid_union':
      return 'matches none of the allowed forms';
    default:
      return 'is not allowed here';
  }
};

function expectedKind(expected: string): string {
  const kinds: Record<string, string> = { string: 'text', number: 'a number', int: 'a whole number', boolean: 'true or false', object: 'a section (keys and values)', array: 'a list', null: 'empty' };
  return kinds[expected] ?? `a ${expected}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'nothing (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a section';
  if (typeof value === 'string') return `the text ${JSON.stringify(value)}`;
  return `${typeof value === 'boolean' ? '' : 'the number '}${String(value)}`;
}

function sizeWords(origin: string, bound: string, limit: number): string {
  if (origin === 'string') return `be ${bound} ${limit} character${limit === 1 ? '' : 's'} long`;
  if (origin === 'array' || origin === 'set') return `have ${bound} ${limit} item${limit === 1 ? '' : 's'}`;
  return `be ${bound} ${limit}`;
}

/** One problem per bad field; each unknown key is its own problem. A missing key says so before the schema's words. */
export function problemsOf(error: z.ZodError): FieldProblem[] {
  return problemsOfIssues(error.issues);
}

function problemsOfIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): FieldProblem[] {
  return issues.flatMap((raw) => {
    const issue = { ...raw, path: [...prefix, ...raw.path] } as z.core.$ZodIssue;
    // Of the forms a value may take, the one whose keys it uses says best what is wrong with it
    // ({ host } without its port is "api.port is required", not "must be { host, port } or { socket }").
    const chosen = issue.code === 'invalid_union' ? chosenBranch(issue.errors) : undefined;
    if (chosen !== undefined) return problemsOfIssues(chosen, issue.path);
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: [...issue.path, key].map(String).join('.'), message: issue.message }));
    const missing = issue.code === 'invalid_type' && issue.input === undefined;
    const message = missing && issue.message !== REQUIRED ? `${REQUIRED}: it ${issue.message}` : issue.message;
    return [{ path: issue.path.map(String).join('.'), message, ...(issue.input !== undefined ? { value: issue.input } : {}) }];
  });
}

/** The one branch of a union that knows every key of the value (no unknown key at its top), if exactly one does. */
function chosenBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): readonly z.core.$ZodIssue[] | undefined {
  const knowing = branches.filter((issues) => !issues.some((issue) => issue.code === 'unrecognized_keys' && issue.path.length === 0));
  return knowing.length === 1 ? knowing[0] : undefined;
}

/** Parses without throwing: the data, or every bad field in plain words. */
export function checkWith<T>(schema: z.ZodType<T>, input: unknown): { readonly ok: true; readonly data: T } | { readonly ok: false; readonly problems: FieldProblem[] } {
  const result = schema.safeParse(input, { reportInput: true, error: plainWords });
  return result.success ? { ok: true, data: result.data } : { ok: false, problems: problemsOf(result.error) };
}

/** Parses or throws a BadInputError naming `what` and every bad field. */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const checked = checkWith(schema, input);
  if (checked.ok) return checked.data;
  throw new BadInputError(what, checked.problems);
}
