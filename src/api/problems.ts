import type { z } from 'zod';
import { BadInputError, type FieldProblem } from '../errors.js';
import { parseWith } from '../validation.js';

/*
 * What a 400 shows of the input. A caller needs to see which value was refused, not to get its own
 * body back: a deeply nested object in a field would otherwise come back whole in problems[].value
 * (and into logs), so only short primitives are shown, and everything else is described.
 */

/** Most characters of a sent string (or field name) shown back. */
export const SHOWN_CHARS_MAX = 64;
/** Most problems listed in one answer; a body with thousands of unknown fields gets a count. */
export const PROBLEMS_MAX = 20;

export interface PublicProblem extends FieldProblem {
  /** Present when `value` does not show the input whole: what kind of value it was, and its size. */
  readonly received?: string;
}

/** `text` cut to SHOWN_CHARS_MAX code points (never half a surrogate pair), with … when cut. */
export function cutText(text: string): string {
  if (text.length <= SHOWN_CHARS_MAX) return text;
  const points = Array.from(text);
  return points.length <= SHOWN_CHARS_MAX ? text : `${points.slice(0, SHOWN_CHARS_MAX).join('')}…`;
}

function plural(count: number, one: string): string {
  return `${count} ${one}${count === 1 ? '' : 's'}`;
}

/** What a problem may show of `value`: the value itself if short and primitive, else a description. */
function shown(value: unknown): { value?: string | number | boolean | null; received?: string } {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return { value };
  if (typeof value === 'string') {
    const cut = cutText(value);
    return cut === value ? { value } : { value: cut, received: `a string of ${plural(Array.from(value).length, 'character')}` };
  }
  if (Array.isArray(value)) return { received: `an array of ${plural(value.length, 'item')}` };
  if (typeof value === 'object') return { received: `an object with ${plural(Object.keys(value).length, 'key')}` };
  return { received: typeof value };
}

/** Problems as the API answers them: short values, cut field names, at most PROBLEMS_MAX of them. */
export function publicProblems(problems: readonly FieldProblem[]): PublicProblem[] {
  // zod can report one field twice in the same words (2^53 is both too big and not a safe integer).
  const seen = new Set<string>();
  const distinct = problems.filter((problem) => {
    const key = `${problem.path}\u0000${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const listed = distinct.slice(0, PROBLEMS_MAX).map((problem): PublicProblem => {
    const path = problem.path.split('.').map(cutText).join('.');
    return { path, message: problem.message, ...(problem.value === undefined ? {} : shown(problem.value)) };
  });
  const more = distinct.length - listed.length;
  if (more > 0) listed.push({ path: '', message: `and ${plural(more, 'more problem')} not listed` });
  return listed;
}

// Errors whose problems are public already (built by validate below), so they are not cut twice.
const madePublic = new WeakSet<BadInputError>();

/** The problems of a BadInputError as the API may show them, from wherever it was raised. */
export function problemsToShow(error: BadInputError): readonly PublicProblem[] {
  return madePublic.has(error) ? error.problems : publicProblems(error.problems);
}

/** Parses with the schema or throws a BadInputError naming every bad field, without echoing input. */
export function validate<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  try {
    return parseWith(schema, input, what);
  } catch (error) {
    if (!(error instanceof BadInputError)) throw error;
    // Rebuilt so that its message, which lists the problems, is made of the public ones too.
    const shown = new BadInputError(what, publicProblems(error.problems));
    madePublic.add(shown);
    throw shown;
  }
}
