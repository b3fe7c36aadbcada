import Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { EdgepayError } from '../errors.js';
import { makePrivateDirectory, preparePrivateDatabase } from '../platform/private-files.js';
import { fsyncDirectoryOf, fsyncFile } from './files.js';
import { storageError } from './storage-errors.js';
import { type VerifyReport, entriesFrom, verifyChain } from './verify.js';

export interface BackupResult {
  readonly to: string;
  readonly entries: number;
  readonly headSeq: number;
  readonly headHash: string;
  readonly totalPages: number;
  readonly durationMs: number;
}

/**
 * Copies a live journal with SQLite's online backup API, from its own read-only connection, so the
 * node keeps writing meanwhile. The copy is written beside the target, fsynced, verified, then
 * renamed into place: a backup file either is whole and verified or does not exist.
 */
/** A backup's progress: SQLite's pages copied, then the copy's entries verified. */
export type BackupProgress = (phase: 'copy' | 'verify', done: number, total: number) => void;

export async function backupJournal(from: string, to: string, options: { clock?: () => number; onProgress?: BackupProgress } = {}): Promise<BackupResult> {
  const now = options.clock ?? (() => performance.now());
  const started = now();
  if (!existsSync(from)) throw new EdgepayError('EDGEPAY_NOT_FOUND', `--db: no journal at ${from}`, { path: from });
  makePrivateDirectory(dirname(to));
  const partial = `${to}.partial`;
  rmSync(partial, { force: true });
  let source: Database.Database | undefined;
  let totalPages = 0;
  try {
    // A copy of the journal is as private as the journal: made 0600 before SQLite writes into it
    // (SQLite would make it 0644 less the umask, and the timer's unit is not the only caller).
    preparePrivateDatabase(partial);
    source = new Database(from, { readonly: true, fileMustExist: true });
    const onProgress = options.onProgress;
    const progress =
      onProgress === undefined
        ? await source.backup(partial)
        : await source.backup(partial, {
            progress: ({ totalPages: total, remainingPages }) => {
              onProgress('copy', total - remainingPages, total);
              // SQLite's own step (100 pages): the callback's return is the next step's size.
              return 100;
            },
          });
    totalPages = progress.totalPages;
    // SQLite reports before each step: the last step's end is said here.
    onProgress?.('copy', totalPages, totalPages);
  } catch (cause) {
    rmSync(partial, { force: true });
    throw storageError(cause, from);
  } finally {
    source?.close();
  }
  const report = inspectBackup(partial, options.onProgress === undefined ? undefined : (done, total) => options.onProgress!('verify', done, total));
  if (!report.ok) {
    rmSync(partial, { force: true });
    throw new EdgepayError('EDGEPAY_JOURNAL_CHAIN_BROKEN', `backup of ${from} does not verify (first bad sequence ${report.problem?.seq}: ${report.problem?.message}); the source journal needs attention`, {
      from,
      firstBadSeq: report.problem?.seq,
    });
  }
  // Opening the copy read-only to verify it leaves empty -wal/-shm files behind (a read-only
  // connection may not remove them); the copy itself is complete without them.
  rmSync(`${partial}-wal`, { force: true });
  rmSync(`${partial}-shm`, { force: true });
  fsyncFile(partial);
  renameSync(partial, to);
  fsyncDirectoryOf(to);
  return { to, entries: report.checked, headSeq: report.headSeq, headHash: report.headHash, totalPages, durationMs: now() - started };
}

/** Verifies a journal file without taking its lock or writing to it. */
export function inspectBackup(path: string, onProgress?: (checked: number, total: number) => void): VerifyReport & { readonly nodeId: string | undefined } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const meta = db.prepare("SELECT value FROM meta WHERE key = 'node_id'").get() as { value: string } | undefined;
    const nodeId = meta?.value;
    const total = onProgress === undefined ? 0 : entriesFrom(db);
    return { ...verifyChain(db, { ...(nodeId === undefined ? {} : { nodeId }), ...(onProgress === undefined ? {} : { onProgress: (checked: number) => onProgress(checked, total) }) }), nodeId };
  } finally {
    db.close();
  }
}
