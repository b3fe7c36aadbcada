import { randomBytes } from 'node:crypto';
import { type Stats, closeSync, fsyncSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EdgepayError } from '../errors.js';
import { fsyncDirectoryOf } from '../journal/files.js';
import { openPrivateFile } from '../platform/private-files.js';

/*
 * The bearer token of the POS API on TCP. Any process on the box can reach a loopback port, and a
 * caller of this API can refund and void, so the token is the only thing between a local process
 * and the till's money: it must be long enough not to be guessed and readable by the node's user
 * alone. Group access is refused too (0640 included): a group-readable token quietly gives every
 * member of the group the right to refund, which the API cannot see or count. A POS that runs as
 * another user gets its own copy (or the same systemd credential in its own unit).
 */

/** Fewest characters of a token: 32 random base64url characters are 192 bits; `node init` writes 43 (32 bytes). */
export const API_TOKEN_MIN_CHARS = 32;
/** Most characters: the token travels in a request header, which the API bounds. */
export const API_TOKEN_MAX_CHARS = 1_024;
/** Random bytes in a token `node init` writes. */
export const API_TOKEN_BYTES = 32;
/** Permission bits of group and others: none may be set on a token file. */
const GROUP_AND_OTHERS = 0o077;
/**
 * A systemd credential of a service with its own user is a 0400 root file with an ACL entry
 * letting that user read it, and stat shows the ACL's mask in the group bits (0440) although no
 * group can read it. So there only group read is let pass; systemd mounts the folder read-only.
 */
const CREDENTIAL_DISALLOWED = 0o037;

function tokenError(file: string, problem: string, details: Record<string, unknown> = {}, cause?: unknown): EdgepayError {
  return new EdgepayError('EDGEPAY_API_TOKEN_INVALID', `api.tokenFile ${file} ${problem}`, { file, ...details }, cause === undefined ? undefined : { cause });
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/**
 * The token in `file`, checked: a regular file of the node's user (or root), no access for group
 * or others (a systemd credential as systemd makes it), and 32 to 1024 printable characters
 * without spaces once trimmed. Every refusal names
 * the file and what is allowed, never the token.
 */
export function readApiToken(file: string, env: NodeJS.ProcessEnv = process.env): string {
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw tokenError(
      file,
      missing ? 'does not exist: `edgepay node init` makes one for a new node (32 random bytes, base64url, mode 0600); give the POS a copy' : `cannot be read: ${(cause as Error).message}`,
      {},
      cause,
    );
  }
  if (!stats.isFile()) throw tokenError(file, 'is not a regular file');
  const credential = isSystemdCredential(file, env);
  if ((stats.mode & (credential ? CREDENTIAL_DISALLOWED : GROUP_AND_OTHERS)) !== 0) {
    const allowed = credential ? "0400 or 0440 (as systemd makes a credential: the group bits are its ACL's mask)" : `0600 or 0400 (the node's user alone). chmod 600 ${file}`;
    throw tokenError(file, `has mode ${octal(stats.mode)}: group or others have access to it, and whoever reads it can refund; allowed: ${allowed}`, { mode: octal(stats.mode) });
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid && stats.uid !== 0) {
    throw tokenError(file, `is owned by uid ${stats.uid}, neither the node's user (uid ${uid}) nor root: its owner could change the token`, { uid: stats.uid });
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (cause) {
    throw tokenError(file, `cannot be read: ${(cause as Error).message}`, {}, cause);
  }
  if (text.length === 0) throw tokenError(file, `is empty: it must hold a token of at least ${API_TOKEN_MIN_CHARS} characters`);
  if (!/^[\x21-\x7e]+$/.test(text)) throw tokenError(file, 'must hold one token of printable ASCII characters without spaces: it is sent in an HTTP header');
  if (text.length < API_TOKEN_MIN_CHARS) {
    throw tokenError(file, `holds a token of ${text.length} characters; at least ${API_TOKEN_MIN_CHARS} are needed (e.g. 32 random bytes as base64url, as \`edgepay node init\` writes)`, { length: text.length });
  }
  if (text.length > API_TOKEN_MAX_CHARS) throw tokenError(file, `holds ${text.length} characters; at most ${API_TOKEN_MAX_CHARS} fit in a request header`, { length: text.length });
  return text;
}

/** Whether `file` is one of the credentials systemd hands the service (`credential:NAME` in the configuration). */
export function isSystemdCredential(file: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const directory = env.CREDENTIALS_DIRECTORY;
  return directory !== undefined && directory !== '' && dirname(file) === resolve(directory);
}

/**
 * Writes a new random token to `file` (mode 0600) unless a file is there already, which is left as
 * it is. Returns whether it wrote one. Durable before it returns: a box that loses power right
 * after `node init` does not come back with an empty token file.
 */
export function createApiTokenFile(file: string): boolean {
  let fd: number;
  try {
    // 'wx' never replaces a token the POS already has; exactly 0600 whatever the umask.
    fd = openPrivateFile(file, 'wx');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw tokenError(file, `cannot be created: ${(cause as Error).message}`, {}, cause);
  }
  try {
    writeSync(fd, `${randomBytes(API_TOKEN_BYTES).toString('base64url')}\n`);
    fsyncSync(fd);
  } catch (cause) {
    // A half-written token file would only be refused at the next start: none is better.
    closeSync(fd);
    rmSync(file, { force: true });
    throw tokenError(file, `cannot be written: ${(cause as Error).message}`, {}, cause);
  }
  closeSync(fd);
  fsyncDirectoryOf(file);
  return true;
}
