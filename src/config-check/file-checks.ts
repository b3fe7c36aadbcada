import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { readApiToken } from '../api/api-token.js';
import { SEAL_PUBLIC_KEY_BYTES, TOKEN_KEY_BYTES, decodeKey } from '../card/keys.js';
import { BadInputError, CodedError } from '../errors.js';
import { loadRules } from '../node/rules-source.js';
import { loadReaderProfile } from '../reader/profile.js';
import { parsePublicKey, parseSigningKey } from '../wire/keys.js';
import type { KeyNotes } from './findings.js';

/*
 * The files a configuration names, opened and read as start will read them, each parsed as the kind
 * it must be. Nothing is written. Each check says what it found in words and what the file must
 * hold, and never the file's content (keys, tokens, passwords).
 */

/** Most bytes read of a key, token, password or URL file: each is a line or a PEM block. */
const SMALL_FILE_MAX_BYTES = 64 * 1024;

/** Why a file cannot be read, in words, or undefined with its text. */
export function readSmallFile(file: string, notes: KeyNotes, mustHold: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    notes.problem(`${file} ${unreadable(cause)}; it must hold ${mustHold}`);
    return undefined;
  }
  if (bytes.length > SMALL_FILE_MAX_BYTES) {
    notes.problem(`${file} is ${bytes.length} bytes, more than such a file ever is (${SMALL_FILE_MAX_BYTES}); it must hold ${mustHold}`);
    return undefined;
  }
  return bytes.toString('utf8');
}

/** A file system error in words: "does not exist", "cannot be read by this user", … */
export function unreadable(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES' || code === 'EPERM') return `cannot be read by this user (${userInfo().username}): permission denied`;
  if (code === 'EISDIR') return 'is a directory, not a file';
  if (code === 'ENOTDIR') return 'is under something that is not a directory';
  return `cannot be read (${code ?? (cause as Error).message})`;
}

/** A base64 key of a fixed size: the card token key or the centre's sealing public key. */
export function checkBase64Key(file: string, notes: KeyNotes, bytes: number, mustHold: string): void {
  const text = readSmallFile(file, notes, mustHold);
  if (text === undefined) return;
  try {
    decodeKey(text, bytes, file);
  } catch (cause) {
    notes.problem(`${file} does not hold ${mustHold}: ${messageAfter(cause, `${file}: `)}`);
  }
}

export const TOKEN_KEY_HOLDS = `the ${TOKEN_KEY_BYTES}-byte card token key as base64 (one line)`;
export const SEAL_KEY_HOLDS = `the centre's ${SEAL_PUBLIC_KEY_BYTES}-byte X25519 public key as base64 (one line)`;

/** An Ed25519 private key, PKCS8 PEM: the node's or the centre's signing key. */
export function checkSigningKey(file: string, notes: KeyNotes, whose: string): void {
  const mustHold = `${whose} Ed25519 private key, PKCS8 PEM (-----BEGIN PRIVATE KEY-----)`;
  const text = readSmallFile(file, notes, mustHold);
  if (text === undefined) return;
  if (!/-----BEGIN PRIVATE KEY-----/.test(text)) {
    const found = /PUBLIC KEY-----/.test(text) ? 'holds a public key' : /ENCRYPTED PRIVATE KEY-----/.test(text) ? 'holds an encrypted key' : 'holds no PEM private key';
    notes.problem(`${file} ${found}; it must hold ${mustHold}`);
    return;
  }
  try {
    parseSigningKey(text, file);
  } catch (cause) {
    notes.problem(`${messageOf(cause)}; it must hold ${mustHold}`);
  }
}

/** An Ed25519 public key, SPKI PEM: a peer's, the rules key's or the centre's answer key. */
export function checkPublicKey(file: string, notes: KeyNotes, whose: string): void {
  const mustHold = `${whose} Ed25519 public key, SPKI PEM (-----BEGIN PUBLIC KEY-----)`;
  const text = readSmallFile(file, notes, mustHold);
  if (text === undefined) return;
  try {
    parsePublicKey(text, file);
  } catch (cause) {
    notes.problem(`${messageOf(cause).replace(/: error:[^\s]+/, '')}; it must hold ${mustHold}`);
  }
}

/** A broker password: its first line, not empty. */
export function checkPasswordFile(file: string, notes: KeyNotes): void {
  const mustHold = "this client's broker password on its first line";
  const text = readSmallFile(file, notes, mustHold);
  if (text === undefined) return;
  if ((text.split(/\r?\n/, 1)[0] ?? '').length === 0) notes.problem(`${file} has an empty first line; it must hold ${mustHold}`);
}

/** The POS API's bearer token, by the rules the API applies at start (length, mode, owner). */
export function checkApiTokenFile(file: string, notes: KeyNotes, env: NodeJS.ProcessEnv): void {
  try {
    readApiToken(file, env);
  } catch (cause) {
    notes.problem(messageAfter(cause, 'api.tokenFile '));
  }
}

/** The offline rules file: JSON, every rule valid; one finding per bad rule. */
export function checkRulesFile(file: string, notes: KeyNotes): void {
  try {
    loadRules(file);
  } catch (cause) {
    if (cause instanceof BadInputError) {
      for (const p of cause.problems) notes.problem(`${file}${p.path === '' ? '' : ` at ${p.path}`} ${p.message}${p.value === undefined ? '' : ` (got ${JSON.stringify(p.value)})`}`);
    } else if (cause instanceof CodedError && cause.code === 'EDGEPAY_NOT_FOUND') {
      notes.problem(`${file} ${unreadable(cause.cause)}; it must hold offline rules as JSON (\`edgepay rules defaults\` prints them)`);
    } else notes.problem(messageOf(cause));
  }
}

/** A lane's reader profile: a file in devices/, valid. */
export function checkReaderProfile(profile: string, notes: KeyNotes): void {
  try {
    loadReaderProfile(profile);
  } catch (cause) {
    if (cause instanceof BadInputError) {
      for (const p of cause.problems) notes.problem(`reader profile ${JSON.stringify(profile)} at ${p.path || '(root)'} ${p.message}`);
    } else notes.problem(messageOf(cause));
  }
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function messageAfter(cause: unknown, prefix: string): string {
  const message = messageOf(cause);
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}
