/**
 * The conformance runner's own failures. A case that finds the reader wrong is not an error of the
 * runner: it throws CASE_FAILED (or CASE_SKIPPED) to end that case at once with its reason, and the
 * runner turns it into a line of the report. LINE_GONE ends the whole run, since no later case can
 * reach the reader either.
 */
import { CodedError } from '../../errors.js';

export type ConformanceErrorCode =
  /** The reader did something a case does not allow; the message is the report's one-line reason. */
  | 'EDGEPAY_CONFORMANCE_CASE_FAILED'
  /** The case does not apply to this reader (an S case on a reader without secure sessions). */
  | 'EDGEPAY_CONFORMANCE_CASE_SKIPPED'
  /** The serial line ended under the runner (unplugged, socat gone). */
  | 'EDGEPAY_CONFORMANCE_LINE_GONE';

export class ConformanceError extends CodedError<ConformanceErrorCode> {}

export function isConformanceError(value: unknown, code?: ConformanceErrorCode): value is ConformanceError {
  return value instanceof ConformanceError && (code === undefined || value.code === code);
}

/** Ends the running case as FAIL; `reason` names what was expected and what came, never card data. */
export function fail(reason: string): never {
  throw new ConformanceError('EDGEPAY_CONFORMANCE_CASE_FAILED', reason);
}

export function skip(reason: string): never {
  throw new ConformanceError('EDGEPAY_CONFORMANCE_CASE_SKIPPED', reason);
}
