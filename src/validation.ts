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

/** One problem per bad field; each unknown key is its own problem. */
export function problemsOf(error: z.ZodError): FieldProblem[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...issue.path, key].map(String).join('.'), message: issue.message }))
      : [{ path: issue.path.map(String).join('.'), message: issue.message, ...(issue.input !== undefined ? { value: issue.input } : {}) }],
  );
}

/** Parses or throws a BadInputError naming `what` and every bad field. */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw new BadInputError(what, problemsOf(result.error));
}
