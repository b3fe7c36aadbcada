import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { BadInputError } from '../errors.js';
import type { Findings } from './findings.js';

/** The configuration, or a BadInputError listing every problem (exit 2, one line each, no stack). */
export function requireUsable<T>(check: { readonly config: T | undefined; readonly findings: Findings }, what: string): T {
  if (check.config !== undefined && check.findings.problems.length === 0) return check.config;
  throw new BadInputError(what, check.findings.problems);
}

/**
 * The environment with `dir` as systemd's credentials directory, so that `credential:<name>` is
 * read from `dir/<name>` as the unit will read it from $CREDENTIALS_DIRECTORY: checking a file
 * outside systemd. Without `dir` the environment is used as it is.
 */
export function withCredentialsDir(dir: string | undefined, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (dir === undefined) return env;
  const path = resolve(dir);
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    // Said below, as for any path that is not a directory.
  }
  if (!isDirectory)
    throw new BadInputError('option', [
      { path: '--credentials-dir', message: `${path} is not a directory; give the directory holding the credentials the configuration names (credential:<name> is read from DIR/<name>)`, value: dir },
    ]);
  return { ...env, CREDENTIALS_DIRECTORY: path };
}
