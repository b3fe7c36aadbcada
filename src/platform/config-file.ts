import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { type YAMLError, parseDocument } from 'yaml';
import { BadInputError, EdgepayError, type FieldProblem } from '../errors.js';

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
    const problems = yamlProblems([...document.errors, ...document.warnings]);
    if (problems.length > 0) throw new BadInputError(`${what} ${file}`, problems);
    return document.toJS();
  }
  throw new BadInputError(`${what} ${file}`, [{ path: '', message: `has the extension ${JSON.stringify(extension)}; use .yaml, .yml (commented) or .json` }]);
}

/** Most YAML problems listed: past a few, the rest follow from the first ones. */
const MAX_YAML_PROBLEMS = 20;

/**
 * One problem per place in the file. The parser reports one mistake several times (at one place
 * under two names, "Nested mappings…" and "Implicit keys…"), and its messages end with the place
 * again; each place is said once, its distinct messages joined.
 */
function yamlProblems(errors: readonly YAMLError[]): FieldProblem[] {
  const byPlace = new Map<string, string[]>();
  for (const error of errors) {
    const at = error.linePos?.[0];
    const place = at === undefined ? 'an unknown place' : `line ${at.line}, column ${at.col}`;
    const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?\s*$/, '');
    const messages = byPlace.get(place) ?? [];
    if (!messages.includes(message)) messages.push(message);
    byPlace.set(place, messages);
  }
  return [...byPlace].slice(0, MAX_YAML_PROBLEMS).map(([place, messages]) => ({ path: '', message: `is not valid YAML at ${place}: ${messages.join('; ')}` }));
}
