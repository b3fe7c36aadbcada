import Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { EdgepayError } from '../errors.js';
import { makePrivateDirectory, preparePrivateDatabase } from '../platform/private-files.js';
import { entryHash } from './canonical.js';
import { entryRow } from './entry-builder.js';
import { GENESIS_HASH, type JournalEntry } from './entry.js';
import { fsyncDirectoryOf, fsyncFile, sqliteFiles } from './files.js';
import { openExistingDatabase } from './open-existing.js';
import { INSERT_ENTRY_SQL } from './row.js';
import { migrate } from './schema.js';
import { storageError } from './storage-errors.js';
import { verifyChain } from './verify.js';

export interface ImportResult {
  readonly path: string;
  readonly entries: number;
  readonly headSeq: number;
  readonly headHash: string;
}

/**
 * Writes a new journal holding exactly `entries` (their own seqs, timestamps and hashes, never
 * re-stamped), so the rebuilt file continues the chain its peers and the centre already know.
 * The entries must be a whole chain from 1; the caller verified their signatures, and the links
 * and hashes are checked again here because a journal that fails them would refuse to open.
 * The file is built beside the target, verified, fsynced and renamed into place, so it either is
 * whole or does not exist; an existing journal is never overwritten.
 */
export function importVerifiedEntries(path: string, nodeId: string, entries: Iterable<JournalEntry>): ImportResult {
  if (sqliteFiles(path).some((file) => existsSync(file))) {
    throw new EdgepayError('EDGEPAY_RESTORE_REFUSED', `${path} already exists; move it aside before importing into its place`, { path });
  }
  makePrivateDirectory(dirname(path));
  const partial = `${path}.importing`;
  removeDatabase(partial);
  let result: ImportResult;
  try {
    result = writeChain(partial, path, nodeId, entries);
    fsyncFile(partial);
  } catch (cause) {
    removeDatabase(partial);
    throw cause instanceof EdgepayError ? cause : storageError(cause, partial);
  }
  renameSync(partial, path);
  fsyncDirectoryOf(path);
  return result;
}

/**
 * Appends `entries` (verified by the caller, re-checked here link by link) to an existing journal
 * that no node holds: a journal restored from a backup, made whole again from the peers' copies.
 * One transaction with the head row, fsynced (WAL, synchronous=FULL), then the whole chain verified.
 */
export function appendVerifiedEntries(path: string, nodeId: string, entries: readonly JournalEntry[]): ImportResult {
  if (!existsSync(path)) throw new EdgepayError('EDGEPAY_NOT_FOUND', `no journal at ${path} to append to`, { path });
  const db = openExistingDatabase(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const owner = db.prepare("SELECT value FROM meta WHERE key = 'node_id'").get() as { value: string } | undefined;
    if (owner?.value !== nodeId) {
      throw new EdgepayError('EDGEPAY_RESTORE_REFUSED', `${path} belongs to node ${JSON.stringify(owner?.value)}, not ${JSON.stringify(nodeId)}`, { path });
    }
    const last = db.prepare('SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: Buffer } | undefined;
    const from = last === undefined ? GENESIS_HEAD : { seq: last.seq, hash: last.hash.toString('hex'), hashBytes: last.hash };
    const head = db.transaction(() => appendChain(db, from, entries, nodeId, path))();
    return checkImported(db, path, nodeId, head.seq);
  } catch (cause) {
    throw cause instanceof EdgepayError ? cause : storageError(cause, path);
  } finally {
    db.close();
  }
}

function writeChain(partial: string, path: string, nodeId: string, entries: Iterable<JournalEntry>): ImportResult {
  // 0600 before SQLite makes it (its rollback journal takes the same mode): it becomes the journal.
  preparePrivateDatabase(partial);
  const db = new Database(partial);
  try {
    // A rollback journal, not WAL: after close the whole database is in the one file that is renamed.
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = FULL');
    migrate(db, partial);
    const head = db.transaction(() => {
      // The same meta row and head row Journal.open and writeBatch would have written.
      db.prepare("INSERT INTO meta (key, value) VALUES ('node_id', ?)").run(nodeId);
      return appendChain(db, GENESIS_HEAD, entries, nodeId, path);
    })();
    return checkImported(db, path, nodeId, head.seq);
  } finally {
    db.close();
  }
}

interface ChainHead {
  readonly seq: number;
  readonly hash: string;
  readonly hashBytes: Buffer;
}

const GENESIS_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH, hashBytes: Buffer.from(GENESIS_HASH, 'hex') };

/** Inserts entries after `from`, each checked to link to the one before, and moves the head row; inside the caller's transaction. */
function appendChain(db: Database.Database, from: ChainHead, entries: Iterable<JournalEntry>, nodeId: string, path: string): ChainHead {
  const insert = db.prepare(INSERT_ENTRY_SQL);
  let head = from;
  for (const entry of entries) {
    checkLink(entry, head, nodeId, path);
    const hashBytes = Buffer.from(entry.hash, 'hex');
    insert.run(entryRow(entry, head.hashBytes, hashBytes));
    head = { seq: entry.seq, hash: entry.hash, hashBytes };
  }
  if (head.seq > from.seq) {
    db.prepare('INSERT INTO chain_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash').run(head.seq, head.hashBytes);
  }
  return head;
}

function checkImported(db: Database.Database, path: string, nodeId: string, headSeq: number): ImportResult {
  const report = verifyChain(db, { nodeId });
  if (!report.ok || report.headSeq !== headSeq) {
    throw new EdgepayError('EDGEPAY_JOURNAL_CHAIN_BROKEN', `imported journal for ${path} does not verify: ${report.problem?.message ?? 'head mismatch'}`, {
      path,
      firstBadSeq: report.problem?.seq,
    });
  }
  return { path, entries: report.checked, headSeq: report.headSeq, headHash: report.headHash };
}

function checkLink(entry: JournalEntry, head: { seq: number; hash: string }, nodeId: string, path: string): void {
  const problem =
    entry.seq !== head.seq + 1
      ? `expected entry ${head.seq + 1}, got ${entry.seq}`
      : entry.nodeId !== nodeId
        ? `entry ${entry.seq} belongs to node ${JSON.stringify(entry.nodeId)}, not ${JSON.stringify(nodeId)}`
        : entry.prevHash !== head.hash
          ? `entry ${entry.seq} does not link to entry ${head.seq}`
          : entryHash(entry) !== entry.hash
            ? `entry ${entry.seq} does not hash to its stored hash`
            : undefined;
  if (problem !== undefined) {
    throw new EdgepayError('EDGEPAY_JOURNAL_CHAIN_BROKEN', `cannot import into ${path}: ${problem}`, { path, firstBadSeq: entry.seq });
  }
}

function removeDatabase(path: string): void {
  for (const file of [...sqliteFiles(path), `${path}-journal`]) rmSync(file, { force: true });
}
