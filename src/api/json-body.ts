import { EdgepayError } from '../errors.js';
import { cutText } from './problems.js';

/*
 * The POS API's JSON body parser. JSON.parse is the parser; this file adds what a POS developer
 * needs when it refuses: where the text stops being JSON, and which key was refused as a
 * prototype-pollution attempt. Fastify's own parser (secure-json-parse) answers both with one
 * sentence that names neither, and V8's messages give a position for only some errors (and quote
 * the body for others), so the locating is done here, on failure only. No JSON library that
 * reports positions is among the node's dependencies, and one scanner is cheaper than another
 * runtime dependency; a property test holds it to JSON.parse's verdict.
 */

/** Where JSON text stops being JSON. Offsets and columns count UTF-16 code units, from 0 and 1. */
export interface JsonSyntaxFault {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly expected: string;
  readonly found: string;
}

type Expect = 'value' | 'value-or-close' | 'key' | 'key-or-close' | 'colon' | 'comma-or-close' | 'end';

const EXPECTED: Readonly<Record<Exclude<Expect, 'comma-or-close'>, string>> = {
  value: 'a value (object, array, string, number, true, false or null)',
  'value-or-close': "a value or ']'",
  key: 'a field name in double quotes',
  'key-or-close': "a field name in double quotes or '}'",
  colon: "':' after the field name",
  end: 'the end of the body',
};

// Sticky (y) patterns match at lastIndex only: each token is tried exactly where the scan stands.
const WHITESPACE = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LITERAL = /true|false|null/y;
/** The longest well-formed start of a string, from its opening quote. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids raw control characters in strings; this is the range it forbids.
const STRING_START = /"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*/y;

function endOf(pattern: RegExp, text: string, at: number): number {
  pattern.lastIndex = at;
  return pattern.exec(text) === null ? -1 : pattern.lastIndex;
}

function foundAt(text: string, offset: number): string {
  const point = text.codePointAt(offset);
  return point === undefined ? 'the end of the body' : JSON.stringify(String.fromCodePoint(point));
}

function fault(text: string, offset: number, expected: string): JsonSyntaxFault {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { offset, line, column: offset - before.lastIndexOf('\n'), expected, found: foundAt(text, offset) };
}

/** Where `text` first fails to be JSON (RFC 8259, as JSON.parse reads it), or null when it is JSON. */
export function findJsonSyntaxFault(text: string): JsonSyntaxFault | null {
  // An explicit stack rather than recursion: 16 KiB of '[' must not overflow the call stack.
  const open: ('array' | 'object')[] = [];
  let expect = 'value' as Expect;
  let at = 0;
  const afterValue = (): Expect => (open.length === 0 ? 'end' : 'comma-or-close');
  for (;;) {
    at = endOf(WHITESPACE, text, at);
    const char = text[at];
    if (expect === 'end') return char === undefined ? null : fault(text, at, EXPECTED.end);
    const top = open[open.length - 1];
    const close = top === 'array' ? ']' : '}';
    if (expect === 'comma-or-close') {
      if (char === ',') expect = top === 'array' ? 'value' : 'key';
      else if (char === close) open.pop();
      else return fault(text, at, `',' or '${close}'`);
      at += 1;
      if (char === close) expect = afterValue();
      continue;
    }
    if (expect === 'colon') {
      if (char !== ':') return fault(text, at, EXPECTED.colon);
      at += 1;
      expect = 'value';
      continue;
    }
    if ((expect === 'value-or-close' && char === ']') || (expect === 'key-or-close' && char === '}')) {
      open.pop();
      at += 1;
      expect = afterValue();
      continue;
    }
    if (char === '"') {
      const end = endOf(STRING_START, text, at);
      if (text[end] !== '"') {
        if (end >= text.length) return fault(text, end, "a closing '\"'");
        if (text[end] === '\\') return fault(text, end, 'an escape: \\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\u and 4 hex digits');
        return fault(text, end, 'no control character inside a string (escape it, e.g. \\n)');
      }
      at = end + 1;
      expect = expect === 'key' || expect === 'key-or-close' ? 'colon' : afterValue();
      continue;
    }
    if (expect === 'key' || expect === 'key-or-close') return fault(text, at, EXPECTED[expect]);
    if (char === '{' || char === '[') {
      open.push(char === '{' ? 'object' : 'array');
      at += 1;
      expect = char === '{' ? 'key-or-close' : 'value-or-close';
      continue;
    }
    const end = Math.max(endOf(NUMBER, text, at), endOf(LITERAL, text, at));
    if (end < 0) return fault(text, at, EXPECTED[expect]);
    at = end;
    expect = afterValue();
  }
}

/**
 * The path of the first key that could change an object's prototype when the body is merged or
 * copied somewhere: `__proto__`, or `prototype` inside `constructor` (what secure-json-parse, fastify's
 * default, refuses). JSON.parse makes them harmless own properties; refusing them keeps them out of
 * everything downstream.
 */
export function findForbiddenKey(value: unknown): { readonly key: '__proto__' | 'constructor.prototype'; readonly path: string[] } | null {
  // Each visit links to its parent rather than copying its path: 16 KiB of nesting stays linear.
  interface Visit {
    readonly value: unknown;
    readonly key: string;
    readonly parent: Visit | null;
  }
  const pathTo = (visit: Visit, tail: string[]): string[] => {
    const keys: string[] = [];
    for (let at: Visit | null = visit; at.parent !== null; at = at.parent) keys.push(at.key);
    return [...keys.reverse(), ...tail];
  };
  const pending: Visit[] = [{ value, key: '', parent: null }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    for (const [key, child] of Object.entries(next.value)) {
      if (key === '__proto__') return { key, path: pathTo(next, [key]) };
      if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) {
        return { key: 'constructor.prototype', path: pathTo(next, [key, 'prototype']) };
      }
      pending.push({ value: child, key, parent: next });
    }
  }
  return null;
}

/** Parses a request body as JSON, or throws EDGEPAY_BAD_JSON / EDGEPAY_FORBIDDEN_JSON_KEY saying where. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) {
    throw new EdgepayError('EDGEPAY_BAD_JSON', 'the body is empty: send a JSON object, or no Content-Type when there is no body', { offset: 0 });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const at = findJsonSyntaxFault(text);
    if (at === null) throw new EdgepayError('EDGEPAY_BAD_JSON', 'the body is not valid JSON', {});
    throw new EdgepayError('EDGEPAY_BAD_JSON', `the body is not valid JSON: at line ${at.line}, column ${at.column} (character ${at.offset + 1}) expected ${at.expected}, found ${at.found}`, {
      line: at.line,
      column: at.column,
      offset: at.offset,
    });
  }
  const forbidden = findForbiddenKey(value);
  if (forbidden !== null) {
    const path = cutText(forbidden.path.map(cutText).join('.'));
    throw new EdgepayError('EDGEPAY_FORBIDDEN_JSON_KEY', `the body has the key ${forbidden.key} at ${path}: keys that can change an object's prototype are refused`, {
      key: forbidden.key,
      path,
    });
  }
  return value;
}
