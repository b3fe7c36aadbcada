import { type Stats, accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { lanePortPath } from '../config/lane-ports.js';
import { UNIX_SOCKET_PREFIX } from '../reader/tty-port.js';
import type { KeyNotes } from './findings.js';
import { readSmallFile, unreadable } from './file-checks.js';

/*
 * The places a configuration names that start makes or opens later: the data directory, an SQLite
 * ledger, the PostgreSQL URL, the lanes' serial devices, the API socket. Each is looked at, never
 * made, migrated or connected to: checking must leave the box and the database as they were.
 */

/** Directories walked up looking for one that exists: deeper paths than this are not a configuration's. */
const MAX_DIRECTORY_DEPTH = 64;

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nearest directory above `path` that exists (where a missing one would be made), or why there is none. */
function nearestDirectory(path: string): { readonly dir: string } | { readonly blocker: string } {
  let current = path;
  for (let depth = 0; depth < MAX_DIRECTORY_DEPTH; depth++) {
    const stats = statOf(current);
    if (stats !== undefined) return stats.isDirectory() ? { dir: current } : { blocker: current };
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return { blocker: path };
}

/** dataDir: a directory; made, with the journal, by `edgepay node init` and never by `node run`. */
export function checkDataDir(dataDir: string, notes: KeyNotes): void {
  const stats = statOf(dataDir);
  if (stats === undefined) {
    notes.warning(`${dataDir} does not exist yet: \`edgepay node init\` makes it with the node's journal (\`node run\` refuses to start without one)`);
    return;
  }
  if (!stats.isDirectory()) {
    notes.problem(`${dataDir} is not a directory; it must be the node's data directory (journal.db and its companions)`);
    return;
  }
  if (statOf(join(dataDir, 'journal.db')) === undefined) notes.warning(`${dataDir} holds no journal yet: \`edgepay node init\` makes it (\`node run\` refuses to start without one)`);
  else if (!writable(dataDir)) notes.warning(`${dataDir} is not writable by this user: the node's user must be able to write it`);
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** An SQLite ledger: an existing file must be an SQLite database; a new one's directory must be one start can write in. */
export function checkSqliteLedger(file: string, notes: KeyNotes): void {
  const stats = statOf(file);
  if (stats !== undefined) {
    if (!stats.isFile()) return notes.problem(`${file} is not a file; it must be the SQLite ledger (made at first start when missing)`);
    if (!writable(dirname(file))) notes.problem(`${dirname(file)} is not writable by this user: SQLite keeps its -wal and -shm files beside the ledger`);
    return checkSqliteHeader(file, stats, notes);
  }
  const nearest = nearestDirectory(dirname(file));
  if ('blocker' in nearest) return notes.problem(`${file} cannot be made: ${nearest.blocker} is not a directory`);
  if (!writable(nearest.dir)) return notes.problem(`${file} cannot be made: ${nearest.dir} is not writable by this user`);
  // A new ledger beside its directory is a first start; directories to be made may be a typo.
  if (nearest.dir !== dirname(file)) notes.warning(`${file} does not exist yet: an empty ledger is made there at first start, with the directories below ${nearest.dir} (mode 0700)`);
}

function checkSqliteHeader(file: string, stats: Stats, notes: KeyNotes): void {
  // An empty file is what preparePrivateDatabase leaves before SQLite writes its first page.
  if (stats.size === 0) return;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const header = Buffer.alloc(SQLITE_HEADER.length);
    readSync(fd, header, 0, header.length, 0);
    if (!header.equals(SQLITE_HEADER)) notes.problem(`${file} is not an SQLite database; it must be the ledger (or not exist yet)`);
  } catch (cause) {
    notes.problem(`${file} ${unreadable(cause)}; it must be the SQLite ledger`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The PostgreSQL URL file: one postgres:// URL with a host. Never connected to: checking must not touch the database. */
export function checkPostgresUrlFile(file: string, notes: KeyNotes): void {
  const mustHold = 'one postgres:// (or postgresql://) URL on one line, e.g. postgres://user:password@host:5432/ledger';
  const text = readSmallFile(file, notes, mustHold);
  if (text === undefined) return;
  const url = text.trim();
  // The URL may carry a password: what is wrong with it is said, the URL itself never.
  if (url === '') return notes.problem(`${file} is empty; it must hold ${mustHold}`);
  if (/\s/.test(url)) return notes.problem(`${file} holds more than one line or word; it must hold ${mustHold}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return notes.problem(`${file} does not hold a URL; it must hold ${mustHold}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') return notes.problem(`${file} holds a ${parsed.protocol}// URL; it must hold ${mustHold}`);
  if (parsed.hostname === '' && !parsed.searchParams.has('host')) notes.problem(`${file} holds a URL without a host; it must hold ${mustHold}`);
}

/**
 * A lane's reader: a character device (a serial port), or a Unix socket for a `unix:` port (the
 * simulator). Readers are unplugged and plugged in again while the node runs, so one missing now
 * is a warning: the lane waits for it.
 */
export function checkLanePort(port: string, notes: KeyNotes): void {
  const path = lanePortPath(port);
  const socket = port.startsWith(UNIX_SOCKET_PREFIX);
  const stats = statOf(path);
  if (stats === undefined) {
    notes.warning(`${path} is not there now (a reader not plugged in?): the lane waits for it and connects when it appears`);
    return;
  }
  if (socket && !stats.isSocket()) notes.problem(`${path} is not a Unix socket; a unix: port must name a reader simulator's socket`);
  if (!socket && !stats.isCharacterDevice()) notes.problem(`${path} is not a character device; lanes[].port must name the reader's serial device (a /dev/ path, e.g. the udev rule's /dev/edgepay/lane-1)`);
}

/**
 * The POS API's socket: the node makes it, in a directory it does not make. Under systemd that
 * directory (RuntimeDirectory=) exists only while the unit runs, so a check before start warns.
 */
export function checkApiSocket(socket: string, notes: KeyNotes): void {
  const dir = statOf(dirname(socket));
  if (dir === undefined) notes.warning(`${dirname(socket)} does not exist now: the node makes ${socket} there but not the directory (the unit's RuntimeDirectory= makes it at start)`);
  else if (!dir.isDirectory()) notes.problem(`${dirname(socket)} is not a directory; the node makes its socket there`);
}
