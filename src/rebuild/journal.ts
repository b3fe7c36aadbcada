import { existsSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { EdgepayError } from '../errors.js';
import type { JournalEntry } from '../journal/entry.js';
import { fsyncDirectoryOf, sqliteFiles } from '../journal/files.js';
import { type ImportResult, importVerifiedEntries } from '../journal/import.js';
import { Journal } from '../journal/journal.js';
import { entriesFrom, verifyChain } from '../journal/verify.js';
import { JournalLock } from '../journal/lock.js';
import { type ExistingJournal, inspectJournalPath } from '../journal/file-identity.js';
import { makePrivateDirectory } from '../platform/private-files.js';
import { RebuildError } from './errors.js';

export type { ExistingJournal } from '../journal/file-identity.js';

/**
 * Takes the journal's lock for the whole rebuild (a node started meanwhile fails with
 * EDGEPAY_JOURNAL_IN_USE instead of creating a journal under the rebuild's feet) and refuses a
 * journal with entries unless forced: those could be acknowledged payments the peers never got.
 * An unreadable file is refused too, because what it holds cannot be known.
 */
export function claimJournalPath(path: string, force: boolean): { readonly lock: JournalLock; readonly existing: ExistingJournal } {
  makePrivateDirectory(dirname(path));
  const lock = JournalLock.acquire(path);
  try {
    const existing = inspectJournalPath(path);
    if (!force && existing.kind !== 'none' && !(existing.kind === 'journal' && existing.entries === 0)) {
      const what = existing.kind === 'journal' ? `a journal with ${existing.entries} entries` : `an unreadable file (${existing.reason})`;
      throw new RebuildError('EDGEPAY_REBUILD_REFUSED', `${path} already holds ${what}; use --force to move it aside and rebuild anyway`, { path, existing });
    }
    return { lock, existing };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * Moves whatever is at the path aside (never deleting it, as `journal restore` does), then writes
 * the rebuilt chain into place. Stray -wal/-shm files are moved too: SQLite would otherwise replay
 * a dead database's WAL into the new file.
 */
export function installRebuilt(path: string, nodeId: string, entries: Iterable<JournalEntry>, keepSuffix: string): ImportResult & { readonly keptAt: string | null } {
  let keptAt: string | null = null;
  const files = sqliteFiles(path);
  if (files.some((file) => existsSync(file))) {
    keptAt = `${path}.replaced-${keepSuffix}`;
    const targets = sqliteFiles(keptAt);
    files.forEach((file, index) => {
      if (existsSync(file)) renameSync(file, targets[index]!);
    });
    fsyncDirectoryOf(path);
  }
  return { ...importVerifiedEntries(path, nodeId, entries), keptAt };
}

/**
 * The acceptance check: the rebuilt file opens as this node's journal, and its whole chain is
 * re-hashed (as Journal.open would with an unlimited tail check, here with the count for a progress
 * display; a break is refused with the same error).
 */
export function openCheck(path: string, nodeId: string, onProgress?: (checked: number, total: number) => void): void {
  const journal = Journal.open({ path, nodeId });
  try {
    const db = journal.connection();
    const total = entriesFrom(db);
    const report = verifyChain(db, { nodeId, ...(onProgress === undefined ? {} : { onProgress: (checked: number) => onProgress(checked, total) }) });
    if (!report.ok && report.problem !== undefined) {
      throw new EdgepayError('EDGEPAY_JOURNAL_CHAIN_BROKEN', `${path}: refusing to start on a broken journal: first bad sequence ${report.problem.seq}: ${report.problem.message}`, {
        path,
        firstBadSeq: report.problem.seq,
        problem: report.problem.kind,
      });
    }
    onProgress?.(report.checked, total);
  } finally {
    journal.close();
  }
}
