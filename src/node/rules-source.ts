import { readFileSync } from 'node:fs';
import { defaultRules, parseRules, type Rules } from '../authorize/index.js';
import { BadInputError, EdgepayError } from '../errors.js';

/** The node's offline rules: its rules file when configured, the documented defaults otherwise. */
export function loadRules(rulesFile: string | undefined): Rules {
  if (rulesFile === undefined) return defaultRules();
  let text: string;
  try {
    text = readFileSync(rulesFile, 'utf8');
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_NOT_FOUND', `rulesFile: cannot read ${rulesFile}: ${(cause as Error).message}`, { file: rulesFile }, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new BadInputError(`rules file ${rulesFile}`, [{ path: '', message: `is not valid JSON: ${(cause as Error).message}` }]);
  }
  return parseRules(json);
}
