import type { CaseId } from './case-ids.js';
import type { CaseContext } from './context.js';

/** One conformance case: it passes by returning and fails by throwing fail(reason). */
export interface ConformanceCase {
  readonly id: CaseId;
  /** An S case: runs only on a reader whose HELLO sets the secure-session bit. */
  readonly secure: boolean;
  /** C1 judges the HELLO exchange itself; every other case gets a fresh session from the runner first. */
  readonly ownSession?: boolean;
  run(ctx: CaseContext): Promise<void>;
}
