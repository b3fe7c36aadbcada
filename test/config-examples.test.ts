import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { DEFAULT_PEER_CLOCK_TOLERANCE_MS } from '../src/authorize/peer-plausibility.js';
import { centreConfigSchema, checkCentreConfig } from '../src/central/centre-config.js';
import type { FieldProblem } from '../src/errors.js';
import { checkNodeConfig, nodeConfigSchema } from '../src/config/node-config.js';
import { readConfigFile } from '../src/platform/config-file.js';

/*
 * The shipped examples (examples/node.yaml and examples/centre.yaml; the store package puts them in
 * /usr/share/doc/edgepay/examples/, and the install guide starts /etc/edgepay/node.yaml from the
 * node's) are where an operator starts: they must pass the loaders' checks, show every key the
 * schema knows (or name, in a comment, the alternatives they cannot show at once), and state the
 * schema's defaults. docs/configuration.md's key table must name only keys that exist, with
 * the schema's defaults, and its YAML samples must pass the same checks.
 */

const REPO = new URL('..', import.meta.url).pathname;
const CONFIGURATION_DOC = join(REPO, 'docs', 'configuration.md');
/** credential:<name> paths resolve here, as under the unit; no file is read. */
const UNIT_ENV = { CREDENTIALS_DIRECTORY: '/run/credentials/edgepay.service' };

// ---- The schema's keys and defaults, from the zod schema itself.

/** What this walk reads of a zod (v4) schema's definition. */
interface Inspectable {
  readonly _zod: { readonly def: SchemaDef };
}
interface SchemaDef {
  readonly type: string;
  /** optional, nullable, readonly, default, prefault */
  readonly innerType?: Inspectable;
  /** pipe (a transform's input side: its keys) */
  readonly in?: Inspectable;
  /** array */
  readonly element?: Inspectable;
  /** union */
  readonly options?: readonly Inspectable[];
  /** object */
  readonly shape?: Readonly<Record<string, Inspectable>>;
  /** default, prefault */
  readonly defaultValue?: unknown;
}

interface SchemaKeys {
  /** Every key path (`keys.tokenKeyFile`, `lanes[].port`): a list's items as `[]`, every form of a union. */
  readonly paths: Set<string>;
  /** The default of each key whose default is one value (not a section or a list). */
  readonly defaults: Map<string, unknown>;
}

/** Types that hold no keys. Any other type stops the walk, so a new wrapper cannot hide keys from it. */
const LEAF_TYPES = new Set(['string', 'number', 'boolean', 'enum', 'literal', 'transform']);

function schemaKeys(schema: unknown): SchemaKeys {
  const keys: SchemaKeys = { paths: new Set(), defaults: new Map() };
  walkSchema(schema as Inspectable, '', keys);
  return keys;
}

function walkSchema(schema: Inspectable, path: string, keys: SchemaKeys): void {
  const def = schema._zod.def;
  switch (def.type) {
    case 'default':
    case 'prefault':
      if (def.defaultValue === null || typeof def.defaultValue !== 'object') keys.defaults.set(path, def.defaultValue);
      return walkSchema(def.innerType!, path, keys);
    case 'optional':
    case 'nullable':
    case 'readonly':
      return walkSchema(def.innerType!, path, keys);
    case 'pipe':
      return walkSchema(def.in!, path, keys);
    case 'array':
      return walkSchema(def.element!, `${path}[]`, keys);
    case 'union':
      for (const option of def.options!) walkSchema(option, path, keys);
      return;
    case 'object':
      for (const [key, child] of Object.entries(def.shape!)) {
        const at = path === '' ? key : `${path}.${key}`;
        keys.paths.add(at);
        walkSchema(child, at, keys);
      }
      return;
    default:
      if (!LEAF_TYPES.has(def.type)) throw new Error(`schemaKeys: zod type ${def.type} at ${path || '(top)'} is not walked; teach the walk its shape`);
  }
}

// ---- An example's keys, values and comments.

interface ExampleKey {
  readonly path: string;
  /** True when its value is one value (not a section or a list). */
  readonly scalar: boolean;
  readonly value: unknown;
  /** The comment its line ends with, or ''. */
  readonly comment: string;
}

/** The comment a line ends with ("# …" after the value), or ''. */
function commentOf(line: string): string {
  return /(?:^|\s)#\s?(.*)$/.exec(line)?.[1] ?? '';
}

function exampleKeys(text: string): ExampleKey[] {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (document.errors.length > 0) throw new Error(`not valid YAML: ${document.errors.map((e) => e.message).join('; ')}`);
  const lines = text.split('\n');
  const keys: ExampleKey[] = [];
  const walk = (node: unknown, path: string): void => {
    if (isSeq(node)) for (const item of node.items) walk(item, `${path}[]`);
    if (!isMap(node)) return;
    for (const pair of node.items) {
      if (!isScalar(pair.key) || pair.key.range === undefined || pair.key.range === null) throw new Error(`a key under ${path || '(top)'} is not a plain name`);
      const at = path === '' ? String(pair.key.value) : `${path}.${String(pair.key.value)}`;
      const line = lines[lineCounter.linePos(pair.key.range[0]).line - 1] ?? '';
      keys.push({ path: at, scalar: isScalar(pair.value), value: isScalar(pair.value) ? pair.value.value : undefined, comment: commentOf(line) });
      walk(pair.value, at);
    }
  };
  walk(document.contents, '');
  return keys;
}

// ---- The examples and what each may leave out.

interface ExampleCase {
  readonly file: string;
  readonly schema: unknown;
  /** The loader's checks short of reading files: the schema and the keys that only make sense together. */
  readonly check: (data: unknown, baseDir: string) => { readonly ok: true } | { readonly ok: false; readonly problems: FieldProblem[] };
  /** Keys the example cannot show beside the ones it sets (path: why); each must be named in a comment of the file instead. */
  readonly alternatives: Readonly<Record<string, string>>;
  /** Defaults the code applies outside the schema (an optional key read with a fallback). */
  readonly codeDefaults: Readonly<Record<string, unknown>>;
}

const NODE: ExampleCase = {
  file: join(REPO, 'examples/node.yaml'),
  schema: nodeConfigSchema,
  check: (data, baseDir) => checkNodeConfig(data, baseDir, UNIT_ENV),
  alternatives: {
    'api.socket': 'the POS API listens on loopback TCP (host, port, tokenFile) or on a Unix socket, never both',
    'centre.ledger': 'the example reaches the centre over MQTT; a ledger the node forwards into itself replaces that',
    'centre.ledger.sqliteFile': 'the same: an embedded SQLite ledger',
    'centre.ledger.postgresUrlFile': 'the same: a PostgreSQL ledger',
    'replication.username': 'a password listener; the example connects with a client certificate (mutual TLS)',
    'replication.passwordFile': 'the same: a password listener',
    'lanes[].readerPublicKey': "the reader's own key, which only its installer knows: the comment says where it comes from",
  },
  codeDefaults: { 'replication.peerClockToleranceSeconds': DEFAULT_PEER_CLOCK_TOLERANCE_MS / 1_000 },
};

const CENTRE: ExampleCase = {
  file: join(REPO, 'examples/centre.yaml'),
  schema: centreConfigSchema,
  check: (data, baseDir) => checkCentreConfig(data, baseDir, UNIT_ENV),
  alternatives: {
    'ledger.sqliteFile': 'one ledger: the example names PostgreSQL (postgresUrlFile)',
    passwordFile: 'a password listener; the example connects with a client certificate (mutual TLS)',
  },
  codeDefaults: {},
};

/** Schema keys the example neither shows nor lists as an alternative. */
function missingKeys(example: ExampleCase, text: string): string[] {
  const shown = new Set(exampleKeys(text).map((key) => key.path));
  return [...schemaKeys(example.schema).paths].filter((path) => !shown.has(path) && !(path in example.alternatives));
}

/**
 * Keys whose value the example states (one value, its comment not saying "required") and whose
 * default differs from it. Lists and sections (lanes, peers) are not compared, nor keys without a default.
 */
function staleDefaults(example: ExampleCase, text: string): { readonly compared: number; readonly stale: string[] } {
  const { defaults } = schemaKeys(example.schema);
  let compared = 0;
  const stale: string[] = [];
  for (const key of exampleKeys(text)) {
    if (!key.scalar || /\brequired\b/.test(key.comment)) continue;
    const expected = defaults.has(key.path) ? defaults.get(key.path) : example.codeDefaults[key.path];
    if (expected === undefined) continue;
    compared += 1;
    if (!Object.is(key.value, expected)) stale.push(`${key.path}: ${JSON.stringify(key.value)}, the default is ${JSON.stringify(expected)}`);
  }
  return { compared, stale };
}

describe.each([
  ['examples/node.yaml', NODE],
  ['examples/centre.yaml', CENTRE],
])('%s', (_name, example) => {
  const text = readFileSync(example.file, 'utf8');

  it("passes the loader's checks with no problem", () => {
    const checked = example.check(readConfigFile(example.file, 'example'), dirname(example.file));
    expect(checked.ok ? [] : checked.problems).toEqual([]);
  });

  it('shows every key of the schema, and names in a comment each alternative it cannot show at once', () => {
    expect(missingKeys(example, text)).toEqual([]);
    const { paths } = schemaKeys(example.schema);
    const shown = new Set(exampleKeys(text).map((key) => key.path));
    const comments = text.split('\n').map(commentOf).join('\n');
    for (const alternative of Object.keys(example.alternatives)) {
      expect(paths.has(alternative), `${alternative} is a key of the schema`).toBe(true);
      expect(shown.has(alternative), `${alternative} is shown, so it is no alternative`).toBe(false);
      const name = alternative.split('.').pop()!;
      expect(comments, `${alternative} named in a comment`).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });

  it("states the schema's default for every key it shows that is not marked required", () => {
    const { compared, stale } = staleDefaults(example, text);
    expect(stale).toEqual([]);
    expect(compared).toBeGreaterThanOrEqual(3);
    const shown = new Set(exampleKeys(text).map((key) => key.path));
    for (const path of Object.keys(example.codeDefaults)) expect(shown.has(path), `${path} shown`).toBe(true);
  });
});

// ---- docs/configuration.md.

/** The text under a heading, up to the next heading of level 2 or 3. */
function sectionOf(readme: string, heading: string): string {
  const start = `\n${readme}`.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/configuration.md has no heading "${heading}"`);
  const rest = readme.slice(start + heading.length + 1);
  const end = rest.search(/^#{2,3} /m);
  return end < 0 ? rest : rest.slice(0, end);
}

interface TableRow {
  /** The key paths the first cell names: `journal.maxBatch` / `maxWaitMs` is journal.maxBatch and journal.maxWaitMs. */
  readonly keys: string[];
  /** The default cell, split the same way ("512 / 0 / 16384"). */
  readonly defaults: string[];
}

function tableRows(configuration: string): TableRow[] {
  return configuration
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
      const names = [...(cells[1] ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
      const first = names[0]!;
      const prefix = first.slice(0, first.lastIndexOf('.') + 1);
      const keys = names.map((name, index) => (index === 0 ? name : prefix + name).replace(/\[\]$/, ''));
      return { keys, defaults: (cells[2] ?? '').split(' / ').map((value) => value.trim()) };
    });
}

/** Table keys the node's schema does not know. */
function unknownTableKeys(readme: string): string[] {
  const { paths } = schemaKeys(nodeConfigSchema);
  return tableRows(sectionOf(readme, '# Configuration')).flatMap((row) => row.keys.filter((key) => !paths.has(key)));
}

/** Table defaults that are not the schema's (or the code's, for a key read with a fallback). */
function staleTableDefaults(readme: string): string[] {
  const { defaults } = schemaKeys(nodeConfigSchema);
  return tableRows(sectionOf(readme, '# Configuration')).flatMap((row) => {
    if (row.defaults.length !== 1 && row.defaults.length !== row.keys.length) return [`${row.keys.join(' / ')}: ${row.defaults.length} defaults for ${row.keys.length} keys`];
    return row.keys.flatMap((key, index) => {
      const expected = defaults.has(key) ? defaults.get(key) : NODE.codeDefaults[key];
      const stated = row.defaults.length === 1 ? row.defaults[0] : row.defaults[index];
      return expected === undefined || stated === String(expected) ? [] : [`${key}: ${stated}, the default is ${String(expected)}`];
    });
  });
}

/** The ```yaml blocks of a section. */
function yamlBlocks(section: string): string[] {
  return [...section.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
}

describe('docs/configuration.md', () => {
  const readme = readFileSync(CONFIGURATION_DOC, 'utf8');

  it('its key table names only keys of the schema', () => {
    const rows = tableRows(sectionOf(readme, '# Configuration'));
    expect(rows.flatMap((row) => row.keys).length).toBeGreaterThanOrEqual(40);
    expect(unknownTableKeys(readme)).toEqual([]);
  });

  it("its key table states the schema's defaults", () => {
    expect(staleTableDefaults(readme)).toEqual([]);
  });

  it("its YAML samples, the node's and the centre's, pass the loaders' checks", () => {
    const samples: [string, ExampleCase][] = [
      ['# Configuration', NODE],
      ["## The centre's configuration", CENTRE],
    ];
    for (const [heading, example] of samples) {
      const blocks = yamlBlocks(sectionOf(readme, heading));
      expect(blocks.length, heading).toBeGreaterThan(0);
      for (const block of blocks) {
        const checked = example.check(parseDocument(block, { uniqueKeys: true }).toJS(), '/etc/edgepay');
        expect(checked.ok ? [] : checked.problems, heading).toEqual([]);
      }
    }
  });
});

describe('the checks themselves', () => {
  it('walk the schema through optional, default, pipe, list and union', () => {
    const node = schemaKeys(nodeConfigSchema);
    for (const path of [
      'keys.plainTokenKeyFileForDevelopment',
      'journal.maxBatch',
      'lanes[].port',
      'api.tokenFile',
      'api.socket',
      'replication.peers[].publicKeyFile',
      'replication.quorum.timeoutMs',
      'centre.ledger.postgresUrlFile',
      'log.level',
    ]) {
      expect(node.paths.has(path), path).toBe(true);
    }
    expect(node.defaults.get('journal.maxBatch')).toBe(512);
    expect(node.defaults.get('keys.plainTokenKeyFileForDevelopment')).toBe(false);
    expect(node.defaults.has('journal')).toBe(false);
    expect(schemaKeys(centreConfigSchema).defaults.get('username')).toBe('edgepay-centre');
  });

  it('catch a key the example lost, a stale default, and a renamed key or stale default in the table', () => {
    const text = readFileSync(NODE.file, 'utf8');
    expect(missingKeys(NODE, text.replace(/^ {2}custodyAfterSeconds:.*\n/m, ''))).toEqual(['replication.custodyAfterSeconds']);
    expect(staleDefaults(NODE, text.replace(/maxBatch: 512 /, 'maxBatch: 256 ')).stale).toEqual(['journal.maxBatch: 256, the default is 512']);
    expect(staleDefaults(NODE, text.replace(/peerClockToleranceSeconds: 900 /, 'peerClockToleranceSeconds: 600 ')).stale).toHaveLength(1);
    // A value marked required is the operator's, not a default.
    expect(staleDefaults(NODE, text.replace(/maxBatch: 512 +#/, 'maxBatch: 256 # required;')).stale).toEqual([]);
    const readme = readFileSync(CONFIGURATION_DOC, 'utf8');
    expect(unknownTableKeys(readme.replace('`journal.maxBatch` / `maxWaitMs`', '`journal.maxBatch` / `maxWait`'))).toEqual(['journal.maxWait']);
    expect(staleTableDefaults(readme.replace('| `log.level` | info |', '| `log.level` | warn |'))).toEqual(['log.level: warn, the default is info']);
  });
});
