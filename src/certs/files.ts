import { closeSync, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EdgepayError } from '../errors.js';
import { fsyncDirectoryOf } from '../journal/files.js';
import type { PemPair } from './x509.js';

export interface PairFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** `<dir>/<base>.crt` and `<dir>/<base>.key`: the names the shipped configurations and docs/operations.md use. */
export function pairFiles(dir: string, base: string): PairFiles {
  return { certFile: join(dir, `${base}.crt`), keyFile: join(dir, `${base}.key`) };
}

/**
 * Writes a certificate (0644: it is public) and its key (0600 whatever the umask) durably, never
 * over an existing file: a replaced CA key strands every certificate it signed, a replaced node
 * key locks the node out, so either is done by removing the old file first, on purpose.
 */
export function writePair(files: PairFiles, pair: PemPair, dir: string): void {
  const present = [files.certFile, files.keyFile].filter((file) => existsSync(file));
  if (present.length > 0) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--out-dir: ${present.join(' and ')} already exist; refusing to replace them (remove them first to re-issue)`, { option: '--out-dir', present });
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--out-dir: cannot create ${dir}: ${(cause as Error).message}`, { option: '--out-dir', value: dir }, { cause });
  }
  // The key first: a certificate without its key is useless, a key without its certificate is re-issued.
  writeNew(files.keyFile, pair.keyPem, 0o600);
  try {
    writeNew(files.certFile, pair.certPem, 0o644);
  } catch (error) {
    rmSync(files.keyFile, { force: true });
    throw error;
  }
  fsyncDirectoryOf(files.keyFile);
}

function writeNew(file: string, text: string, mode: number): void {
  let fd: number;
  try {
    // 'wx': never follows or replaces a file made meanwhile; the key is never readable by others, even for a moment.
    fd = openSync(file, 'wx', mode & 0o600);
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--out-dir: cannot create ${file}: ${(cause as Error).message}`, { option: '--out-dir', file }, { cause });
  }
  try {
    // The umask may have narrowed the mode: set it exactly (the certificate readable, the key the owner's alone).
    fchmodSync(fd, mode);
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (cause) {
    closeSync(fd);
    rmSync(file, { force: true });
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--out-dir: cannot write ${file}: ${(cause as Error).message}`, { option: '--out-dir', file }, { cause });
  }
  closeSync(fd);
}

/** The CA's certificate and key, as `certs ca create` wrote them. */
export function readCa(certFile: string, keyFile: string): PemPair {
  return { certPem: readPem(certFile, '--ca'), keyPem: readPem(keyFile, '--ca-key') };
}

function readPem(file: string, option: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_NOT_FOUND', `${option}: cannot read ${file}: ${(cause as Error).message}`, { option, file }, { cause });
  }
}
