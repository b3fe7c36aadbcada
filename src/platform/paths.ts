import { isAbsolute, resolve } from 'node:path';
import { EdgepayError } from '../errors.js';

const CREDENTIAL = 'credential:';

/**
 * A path from a configuration file: relative to the file's directory, or `credential:NAME` for a
 * secret systemd hands the service (LoadCredential=/SetCredential=): `$CREDENTIALS_DIRECTORY/NAME`,
 * readable by the service alone and never on a command line or in the unit's environment.
 */
export function configPath(value: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!value.startsWith(CREDENTIAL)) return isAbsolute(value) ? value : resolve(baseDir, value);
  const name = value.slice(CREDENTIAL.length);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `${JSON.stringify(value)}: a credential name is 1-64 letters, digits, '.', '_' or '-'`, { value });
  }
  const directory = env['CREDENTIALS_DIRECTORY'];
  if (directory === undefined || directory === '') {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `${JSON.stringify(value)} needs systemd's CREDENTIALS_DIRECTORY: run under a unit with LoadCredential=${name}:… or give a file path`, { value });
  }
  return resolve(directory, name);
}
