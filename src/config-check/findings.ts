import type { FieldProblem } from '../errors.js';

/*
 * What checking a configuration found: problems (the file cannot be used; start refuses it) and
 * warnings (said, but a start goes ahead: a reader not plugged in now, a data directory `node init`
 * has yet to make). Every finding names its key path and the value as written.
 */

/** Most findings kept: a file generated wrong could otherwise print one line per lane and peer without end. */
export const MAX_FINDINGS = 200;

/** One key's findings: the checks of a file speak through this, never knowing the key path. */
export interface KeyNotes {
  problem(message: string): void;
  warning(message: string): void;
}

export class Findings {
  readonly problems: FieldProblem[] = [];
  readonly warnings: FieldProblem[] = [];

  addProblems(problems: readonly FieldProblem[]): void {
    for (const problem of problems) this.add(this.problems, problem);
  }

  /** Whether `path` (or a key above or below it) already has a problem: its files are not read again. */
  hasProblemAt(path: string): boolean {
    return this.problems.some((p) => p.path === path || p.path.startsWith(`${path}.`) || path.startsWith(`${p.path}.`) || p.path === '');
  }

  /** The notes of one key: its path and value are attached to each finding. */
  at(path: string, value: unknown): KeyNotes {
    return {
      problem: (message) => this.add(this.problems, { path, message, value }),
      warning: (message) => this.add(this.warnings, { path, message, value }),
    };
  }

  private add(list: FieldProblem[], finding: FieldProblem): void {
    if (list.length >= MAX_FINDINGS) return;
    // Two checks may find the same thing (the schema and the device check on one lane): said once.
    if (list.some((f) => f.path === finding.path && f.message === finding.message)) return;
    list.push(finding);
  }
}

/** A warning as a line of its own: its key path, what was found, and the value as written. */
export function warningLine(warning: FieldProblem): string {
  return `WARNING: ${warning.path} ${warning.message}${warning.value === undefined ? '' : ` (got ${JSON.stringify(warning.value)})`}`;
}
