/**
 * Failures of a supervisor carry a stable code so a parent (or an operator reading logs) branches on
 * the code, never on message text. They live beside the supervisor rather than in src/errors.ts
 * because they describe the supervision tree, not the payment domain.
 */
import { CodedError } from '../errors.js';

export type SupervisorErrorCode =
  /** startSupervisor was given options it cannot honour (a duplicate child id, a negative period…). */
  | 'EDGEPAY_SUPERVISOR_BAD_OPTIONS'
  /** A child failed to start during the supervisor's initial start; `details.childId` names it. */
  | 'EDGEPAY_SUPERVISOR_START_FAILED'
  /** More restarts than `intensity` within `periodMs`: the supervisor gave up and escalated. */
  | 'EDGEPAY_SUPERVISOR_INTENSITY_EXCEEDED'
  /**
   * A child asked to stop so that it could be restarted did not exit even after its shutdown timeout
   * plus the grace margin. Restarting it could leave two live instances, so the supervisor escalates.
   */
  | 'EDGEPAY_SUPERVISOR_CHILD_UNSTOPPABLE'
  /** A child's stop did not settle within its timeout plus the grace margin, so it was written off as killed. */
  | 'EDGEPAY_SUPERVISOR_STOP_TIMEOUT'
  /** A bug in the supervisor itself; it stopped its children rather than continue in an unknown state. */
  | 'EDGEPAY_SUPERVISOR_INTERNAL';

export class SupervisorError extends CodedError<SupervisorErrorCode> {}

export function isSupervisorError(value: unknown, code?: SupervisorErrorCode): value is SupervisorError {
  return value instanceof SupervisorError && (code === undefined || value.code === code);
}

/** Children may reject with anything; exits and events always carry a real Error so logs keep a stack. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
