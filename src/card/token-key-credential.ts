import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { EdgepayError } from '../errors.js';
import { fsyncDirectoryOf } from '../journal/files.js';
import { TOKEN_KEY_BYTES, decodeKey } from './keys.js';
import { ID_RULE, isId } from '../ids.js';

/*
 * The token key leaves edgepay only through `systemd-creds encrypt`, on a pipe: it is never written
 * in clear, so the only copy on the box is sealed to the machine (its TPM2 where it has one, the
 * host key in /var/lib/systemd/credential.secret otherwise) and systemd opens it into the service's
 * in-memory credentials directory at start (LoadCredentialEncrypted=).
 */

/** systemd-creds --with-key values: auto picks host+tpm2 where a TPM2 is present, host alone otherwise. */
export const SEAL_WITH_KEYS = ['auto', 'host', 'tpm2', 'host+tpm2'] as const;
export type SealWithKey = (typeof SEAL_WITH_KEYS)[number];

/** The credential name the unit loads and the configuration reads (`credential:token.key`). */
export const TOKEN_KEY_CREDENTIAL = 'token.key';

/** systemd-creds stops within this or is killed: it needs no network, only the TPM or the host key. */
const SYSTEMD_CREDS_TIMEOUT_MS = 30_000;
/** Most of systemd-creds' stderr kept for an error message. */
const STDERR_MAX_CHARS = 2_000;

export interface SealTokenKeyOptions {
  /** The encrypted credential to create, e.g. /etc/credstore.encrypted/edgepay-token.key. */
  readonly out: string;
  readonly withKey?: SealWithKey;
  /** Embedded in the credential; systemd refuses to load it under any other name. */
  readonly name?: string;
  /** The fleet's existing key (base64), e.g. piped from the operator's secret store; a new random key when absent. */
  readonly keyBase64?: string;
  /** The systemd-creds executable; PATH is searched for a bare name. */
  readonly systemdCreds?: string;
}

export interface SealTokenKeyResult {
  readonly out: string;
  readonly name: string;
  readonly withKey: SealWithKey;
  /** True when a new key was made, false when a given key was sealed. */
  readonly generated: boolean;
}

/**
 * Seals a token key for this machine with systemd-creds, and checks that this machine can open it
 * again before returning. Refuses to replace an existing file: a different token key changes
 * every card's token (docs/security.md, for rotation).
 */
export async function sealTokenKey(options: SealTokenKeyOptions): Promise<SealTokenKeyResult> {
  const name = options.name ?? TOKEN_KEY_CREDENTIAL;
  const withKey = options.withKey ?? 'auto';
  const tool = options.systemdCreds ?? 'systemd-creds';
  if (!isId(name)) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--name: a credential name is ${ID_RULE}, got ${JSON.stringify(name)}`, { field: 'name', value: name });
  }
  if (!(SEAL_WITH_KEYS as readonly string[]).includes(withKey)) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--with-key: must be one of ${SEAL_WITH_KEYS.join(', ')}, got ${JSON.stringify(withKey)}`, { field: 'withKey', value: withKey });
  }
  if (existsSync(options.out)) {
    throw new EdgepayError(
      'EDGEPAY_CREDENTIAL_EXISTS',
      `${options.out} exists already; a token key is never replaced in place: a new key gives every card a new token across the fleet (see docs/security.md for rotation)`,
      { out: options.out },
    );
  }
  const key = options.keyBase64 === undefined ? randomBytes(TOKEN_KEY_BYTES) : decodeKey(options.keyBase64, TOKEN_KEY_BYTES, 'token key (stdin)');
  const text = Buffer.from(`${key.toString('base64')}\n`, 'utf8');
  try {
    const sealed = await run(tool, ['encrypt', `--name=${name}`, `--with-key=${withKey}`, '-', options.out], text);
    if (sealed.code !== 0) {
      rmSync(options.out, { force: true });
      throw sealFailed(`systemd-creds encrypt exited with ${sealed.code}`, sealed.stderr, options.out);
    }
    chmodSync(options.out, 0o600);
    fsyncDirectoryOf(options.out);
    // Sealed is not enough: the box must be able to open it (a TPM2 policy or host key it lacks fails here, not at the next boot).
    const opened = await run(tool, ['decrypt', `--name=${name}`, options.out, '-'], Buffer.alloc(0));
    const same = opened.code === 0 && opened.stdout.toString('utf8').trim() === key.toString('base64');
    opened.stdout.fill(0);
    if (!same) {
      rmSync(options.out, { force: true });
      throw sealFailed('the sealed key does not open again on this machine (systemd-creds decrypt)', opened.stderr, options.out);
    }
  } finally {
    key.fill(0);
    text.fill(0);
  }
  return { out: options.out, name, withKey, generated: options.keyBase64 === undefined };
}

function sealFailed(problem: string, stderr: string, out: string): EdgepayError {
  const said = stderr.trim() === '' ? '' : `: ${stderr.trim()}`;
  return new EdgepayError('EDGEPAY_CREDENTIAL_SEAL_FAILED', `${out}: ${problem}${said}; nothing was written`, { out, stderr: stderr.trim() });
}

interface RunResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs systemd-creds with `input` on its stdin (never on its command line, where ps would show it). */
function run(tool: string, args: readonly string[], input: Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    // Not spawn's own `timeout`: its timer outlives a spawn that failed (ENOENT) and holds the process open.
    const timer = setTimeout(() => child.kill('SIGKILL'), SYSTEMD_CREDS_TIMEOUT_MS);
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_MAX_CHARS)));
    child.on('error', (cause: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (cause.code === 'ENOENT') {
        reject(
          new EdgepayError(
            'EDGEPAY_SYSTEMD_CREDS_MISSING',
            `${tool} is not installed or not on PATH: sealing the token key needs systemd-creds (systemd 250 or later, package systemd). The key is never written in clear instead`,
            { tool },
            { cause },
          ),
        );
      } else reject(new EdgepayError('EDGEPAY_CREDENTIAL_SEAL_FAILED', `${tool} could not be started: ${cause.message}`, { tool }, { cause }));
    });
    // EPIPE when the tool exits before reading: its exit code and stderr say why.
    child.stdin.on('error', () => undefined);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const all = Buffer.concat(stdout);
      for (const chunk of stdout) chunk.fill(0);
      resolve({ code: code ?? (signal === null ? 1 : 128), stdout: all, stderr });
    });
    child.stdin.end(input);
  });
}
