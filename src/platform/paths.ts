import { isAbsolute, resolve } from 'node:path';
import { EdgepayError, type FieldProblem } from '../errors.js';
import { ID_RULE, isId } from '../ids.js';

const CREDENTIAL = 'credential:';

/**
 * A path from a configuration file: relative to the file's directory, or `credential:NAME` for a
 * secret systemd hands the service (LoadCredential=/SetCredential=): `$CREDENTIALS_DIRECTORY/NAME`,
 * readable by the service alone and never on a command line or in the unit's environment.
 */
export function configPath(value: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!value.startsWith(CREDENTIAL)) return isAbsolute(value) ? value : resolve(baseDir, value);
  const name = value.slice(CREDENTIAL.length);
  if (!isId(name)) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `${JSON.stringify(value)}: a credential name is ${ID_RULE}`, { value });
  }
  const directory = env.CREDENTIALS_DIRECTORY;
  if (directory === undefined || directory === '') {
    throw new EdgepayError(
      'EDGEPAY_BAD_INPUT',
      `${JSON.stringify(value)} needs systemd's CREDENTIALS_DIRECTORY: run under a unit with LoadCredential=${name}:…, or give a file path; to check outside systemd, give --credentials-dir DIR (DIR holding ${name})`,
      { value },
    );
  }
  return resolve(directory, name);
}

/** Resolves a configuration's paths, each failure kept as a problem at its key path (the value is then left as written). */
export function configPathsInto(problems: FieldProblem[], baseDir: string, env: NodeJS.ProcessEnv = process.env): (value: string, keyPath: string) => string {
  return (value, keyPath) => {
    try {
      return configPath(value, baseDir, env);
    } catch (cause) {
      const message = cause instanceof EdgepayError ? cause.message.replace(`${JSON.stringify(value)} `, '') : String(cause);
      problems.push({ path: keyPath, message, value });
      return value;
    }
  };
}

/** The optional path keys of a section that are set, resolved. */
export function optionalPaths<K extends string>(section: Partial<Record<K, string>>, keys: readonly K[], at: (value: string, keyPath: string) => string, prefix = ''): Partial<Record<K, string>> {
  const resolved: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = section[key];
    if (value !== undefined) resolved[key] = at(value, `${prefix}${key}`);
  }
  return resolved;
}
