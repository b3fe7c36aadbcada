import { configPath } from '../platform/paths.js';
import type { Findings, KeyNotes } from './findings.js';

/*
 * The files are looked up in the configuration as written, not in its parsed form: a file with a
 * bad number in `journal` still gets its keys and certificates read, so one run lists every
 * problem. A key whose own value was refused is not read again.
 */

/** The value at a dotted key path (`replication.peers.0.publicKeyFile`) of plain data, if any. */
export function valueAt(data: unknown, keyPath: string): unknown {
  let current = data;
  for (const key of keyPath.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** How many items the list at `keyPath` has (0 when it is not a list). */
export function countAt(data: unknown, keyPath: string): number {
  const value = valueAt(data, keyPath);
  return Array.isArray(value) ? value.length : 0;
}

/** Where configuration paths resolve: relative to the file, credentials in the credentials directory. */
export interface PathBase {
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Resolves a path as the loader does; a failure (a credential without a credentials directory) is a problem at its key. */
export function resolveFor(value: string, base: PathBase, notes: KeyNotes): string | undefined {
  try {
    return configPath(value, base.baseDir, base.env);
  } catch (cause) {
    notes.problem((cause as Error).message.replace(`${JSON.stringify(value)} `, ''));
    return undefined;
  }
}

/**
 * Runs `check` on the text value at `keyPath` unless it is absent or already refused. `resolve`
 * turns it into what is checked (a path, by default); undefined from it means it said why not.
 */
export function checkKey(findings: Findings, data: unknown, keyPath: string, check: (resolved: string, notes: KeyNotes) => void, resolve: (value: string, notes: KeyNotes) => string | undefined): void {
  const value = valueAt(data, keyPath);
  if (typeof value !== 'string' || value === '' || findings.hasProblemAt(keyPath)) return;
  const notes = findings.at(keyPath, value);
  const resolved = resolve(value, notes);
  if (resolved !== undefined) check(resolved, notes);
}
