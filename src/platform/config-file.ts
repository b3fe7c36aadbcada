import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import { BadInputError, EdgepayError } from '../errors.js';

/**
 * Reads a configuration file as plain data. YAML (`.yaml`, `.yml`) is the commented format the
 * shipped examples use; JSON (`.json`) is read as it always was. The extension decides, so a file
 * is never guessed at; a duplicate key is an error, not a silent override.
 */
export function readConfigFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_NOT_FOUND', `--config: cannot read ${file}: ${(cause as Error).message}`, { file }, { cause });
  }
  const extension = extname(file).toLowerCase();
  if (extension === '.json') {
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw new BadInputError(`${what} ${file}`, [{ path: '', message: `is not valid JSON: ${(cause as Error).message}` }]);
    }
  }
  if (extension === '.yaml' || extension === '.yml') {
    const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
    const problems = [...document.errors, ...document.warnings].map((error) => ({
      path: '',
      message: `is not valid YAML at line ${error.linePos?.[0]?.line ?? '?'}, column ${error.linePos?.[0]?.col ?? '?'}: ${error.message.split('\n')[0]}`,
    }));
    if (problems.length > 0) throw new BadInputError(`${what} ${file}`, problems);
    return document.toJS();
  }
  throw new BadInputError(`${what} ${file}`, [{ path: '', message: `has the extension ${JSON.stringify(extension)}; use .yaml, .yml (commented) or .json` }]);
}
