/**
 * The conformance cases by id and name, exactly as PROTOCOL.md's list names them (C1–C11 for every
 * reader, S1–S4 for a reader offering secure sessions). Kept apart from the cases themselves so the
 * command line can check `--case` before anything opens the serial line.
 */
import { BadInputError } from '../../errors.js';

export const CASE_IDS = [
  { id: 'C1', name: 'hello' },
  { id: 'C2', name: 'ack' },
  { id: 'C3', name: 'status' },
  { id: 'C4', name: 'duplicate' },
  { id: 'C5', name: 'bad-crc' },
  { id: 'C6', name: 'unknown-type' },
  { id: 'C7', name: 'malformed' },
  { id: 'C8', name: 'transaction' },
  { id: 'C9', name: 'cancel-after-card' },
  { id: 'C10', name: 'cancel-unknown' },
  { id: 'C11', name: 'supersede' },
  { id: 'S1', name: 'auth' },
  { id: 'S2', name: 'auth-fresh' },
  { id: 'S3', name: 'sealed-card' },
  { id: 'S4', name: 'secure-required' },
] as const;

export type CaseId = (typeof CASE_IDS)[number]['id'];

export function caseName(id: CaseId): string {
  return CASE_IDS.find((c) => c.id === id)?.name ?? id;
}

/** "C1 (hello), C2 (ack), ...": what `--case` allows, for help and errors. */
export function allowedCases(): string {
  return CASE_IDS.map((c) => `${c.id} (${c.name})`).join(', ');
}

/**
 * `--case` values (ids or names, any case, repeated or comma-separated) as ids in the list's order:
 * the cases always run in protocol order, whatever order they were named in. Every case when none.
 */
export function parseCaseIds(values: readonly string[] | undefined): CaseId[] {
  if (values === undefined || values.length === 0) return CASE_IDS.map((c) => c.id);
  const wanted = new Set<CaseId>();
  const unknown: string[] = [];
  for (const value of values.flatMap((v) => v.split(',')).map((v) => v.trim())) {
    const found = CASE_IDS.find((c) => c.id.toLowerCase() === value.toLowerCase() || c.name === value.toLowerCase());
    if (found === undefined) unknown.push(value);
    else wanted.add(found.id);
  }
  if (unknown.length > 0) {
    throw new BadInputError(
      '--case',
      unknown.map((value) => ({ path: '--case', message: `is not a conformance case: must be one of ${allowedCases()}`, value })),
    );
  }
  return CASE_IDS.map((c) => c.id).filter((id) => wanted.has(id));
}
