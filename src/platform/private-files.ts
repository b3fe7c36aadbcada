import { chmodSync, closeSync, existsSync, fchmodSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/*
 * Files that hold journal entries, card facts (tokens, BIN and last 4, sealed card data) or keys are
 * the node's user's alone, whatever umask the process was started with. Under systemd the units
 * set UMask=0077, but `node init`, `journal backup` or `centre keys create` run by hand inherit the
 * shell's umask (022 on Debian), which turned such files 0644. So every mode here is set
 * explicitly, after creation (the umask can only take bits away from open's and mkdir's mode,
 * including the owner's own ones), and never left to the umask.
 */

/** Owner read and write only: journal, replicas, outcomes, ledgers, backups, exports, private keys, tokens. */
export const PRIVATE_FILE_MODE = 0o600;
/** Owner only: the directories edgepay makes for those files. */
export const PRIVATE_DIRECTORY_MODE = 0o700;

/** Bytes per read while copying a database into a private file. */
const COPY_CHUNK_BYTES = 1024 * 1024;

/**
 * Makes `dir` and its missing parents, each of them 0700. Directories that were there already (a
 * systemd StateDirectory=, /tmp, an operator's folder) are left as they are: their modes are the
 * operator's choice, not edgepay's.
 */
export function makePrivateDirectory(dir: string): void {
  const missing: string[] = [];
  for (let current = resolve(dir); !existsSync(current); current = dirname(current)) {
    missing.push(current);
    if (dirname(current) === current) break;
  }
  if (missing.length === 0) return;
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  for (const made of missing) chmodSync(made, PRIVATE_DIRECTORY_MODE);
}

/**
 * Opens `file` for writing with mode 0600: 'wx' only creates, 'w' also truncates an existing file,
 * whose mode is narrowed to 0600 before anything is written (open's mode applies only to a new
 * file). Does not make the directory. The caller closes the descriptor.
 */
export function openPrivateFile(file: string, flags: 'w' | 'wx'): number {
  const fd = openSync(file, flags, PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } catch (cause) {
    closeSync(fd);
    throw cause;
  }
  return fd;
}

/**
 * Writes `data` to `file` (mode 0600, its directory made private if missing) and fsyncs it.
 * `exclusive`: fail with EEXIST rather than replace a file that is there.
 */
export function writePrivateFile(file: string, data: string | Buffer, options: { readonly exclusive?: boolean } = {}): void {
  makePrivateDirectory(dirname(file));
  const fd = openPrivateFile(file, options.exclusive === true ? 'wx' : 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    while (written < bytes.byteLength) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Readies the path of a SQLite database this process is about to open for writing: its directory
 * (private if made here) and, when the file is missing, an empty main file with mode 0600 (SQLite
 * takes a zero-length file for an empty database). SQLite itself would create the main file 0644
 * less the umask, but it gives the -wal, -shm and rollback -journal files the main file's mode
 * (it fchmods them to it), so a 0600 main file keeps every file of the database 0600.
 * A database of this process's user left group- or world-readable by an earlier version is
 * narrowed to 0600 here, with its -wal and -shm. Returns whether the main file was made here.
 */
export function preparePrivateDatabase(path: string): boolean {
  makePrivateDirectory(dirname(path));
  let fd: number;
  try {
    fd = openPrivateFile(path, 'wx');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') throw cause;
    narrowOwnDatabase(path);
    return false;
  }
  closeSync(fd);
  return true;
}

/** Copies `from` into a new private file `to` ('wx'): unlike copyFile, which gives the copy the source's mode. */
export function copyIntoPrivateFile(from: string, to: string): void {
  makePrivateDirectory(dirname(to));
  const source = openSync(from, 'r');
  try {
    const target = openPrivateFile(to, 'wx');
    try {
      const chunk = Buffer.allocUnsafe(Math.min(COPY_CHUNK_BYTES, Math.max(1, fstatSync(source).size)));
      for (let read = readSync(source, chunk); read > 0; read = readSync(source, chunk)) {
        let written = 0;
        while (written < read) written += writeSync(target, chunk, written, read - written);
      }
    } finally {
      closeSync(target);
    }
  } finally {
    closeSync(source);
  }
}

/** Permission bits of group and others. */
const GROUP_AND_OTHERS = 0o077;

/**
 * Narrows to 0600 a database of this process's user (main file, -wal, -shm) that an earlier version
 * left group- or world-readable under a loose umask.
 */
export function narrowOwnDatabase(path: string): void {
  const uid = process.getuid?.();
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let mode: number;
    let owner: number;
    try {
      ({ mode, uid: owner } = statSync(file));
    } catch {
      continue; // no -wal or -shm: nothing to narrow
    }
    // Another user's file (root's, read here by a tool) is not this process's to change.
    if ((mode & GROUP_AND_OTHERS) !== 0 && (uid === undefined || owner === uid)) chmodSync(file, PRIVATE_FILE_MODE);
  }
}
