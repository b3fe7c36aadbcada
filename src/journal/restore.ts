import Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { EdgepayError } from '../errors.js';
import { copyIntoPrivateFile, makePrivateDirectory } from '../platform/private-files.js';
import { inspectBackup } from './backup.js';
import { fsyncDirectoryOf, fsyncFile, sqliteFiles } from './files.js';
import { lockOwner } from './lock.js';
import { verifyChain } from './verify.js';

export interface RestoreOptions {
  readonly from: string;
  readonly to: string;
  /** Restore even if the current journal has entries the backup lacks, or belongs to another node. */
  readonly force?: boolean;
  /** Suffix for the replaced journal's files, kept beside it; defaults to a timestamp. */
  readonly keepSuffix?: string;
}

export interface RestoreResult {
  readonly restoredHeadSeq: number;
  readonly restoredHeadHash: string;
  /** Where the journal that was replaced now lives, or null if there was none. */
  readonly replacedKeptAt: string | null;
}

/**
 * Replaces a journal with a backup, but only after the backup's whole chain verifies, and never
 * while a node holds the journal. A current journal that is whole and longer than the backup (or
 * another node's, or diverging from it) is kept unless forced, because restoring would discard
 * acknowledged payments. The replaced files are renamed aside, never deleted.
 */
export function restoreJournal(options: RestoreOptions): RestoreResult {
  const { from, to } = options;
  if (!existsSync(from)) throw new EdgepayError('EDGEPAY_NOT_FOUND', `--from: no backup at ${from}`, { path: from });
  const backup = inspectBackup(from);
  if (!backup.ok) {
    throw new EdgepayError('EDGEPAY_RESTORE_REFUSED', `backup ${from} does not verify: first bad sequence ${backup.problem?.seq}: ${backup.problem?.message}; nothing was replaced`, {
      from,
      firstBadSeq: backup.problem?.seq,
    });
  }
  const owner = lockOwner(to);
  if (owner !== undefined) {
    throw new EdgepayError('EDGEPAY_JOURNAL_IN_USE', `journal ${to} is in use by process ${owner}; stop the node before restoring`, { path: to, pid: owner });
  }
  if (existsSync(to) && !options.force) refuseIfRestoreLoses(to, from, backup.headSeq, backup.nodeId);

  makePrivateDirectory(dirname(to));
  const partial = `${to}.restoring`;
  rmSync(partial, { force: true });
  // Not copyFile: it gives the copy the backup's mode, and a backup made by hand may be 0644.
  copyIntoPrivateFile(from, partial);
  fsyncFile(partial);
  let keptAt: string | null = null;
  if (existsSync(to)) {
    keptAt = `${to}.replaced-${options.keepSuffix ?? new Date().toISOString().replace(/[:.]/g, '-')}`;
    for (const [index, file] of sqliteFiles(to).entries()) {
      if (existsSync(file)) renameSync(file, sqliteFiles(keptAt)[index]!);
    }
  }
  renameSync(partial, to);
  fsyncDirectoryOf(to);
  return { restoredHeadSeq: backup.headSeq, restoredHeadHash: backup.headHash, replacedKeptAt: keptAt };
}

function refuseIfRestoreLoses(to: string, from: string, backupHeadSeq: number, backupNodeId: string | undefined): void {
  let current: Database.Database;
  try {
    current = new Database(to, { readonly: true, fileMustExist: true });
  } catch {
    return; // unreadable: that is what a restore is for
  }
  try {
    const meta = current.prepare("SELECT value FROM meta WHERE key = 'node_id'").get() as { value: string } | undefined;
    if (meta && backupNodeId !== undefined && meta.value !== backupNodeId) {
      throw refusal(`${to} belongs to node ${meta.value} but the backup to node ${backupNodeId}`);
    }
    const report = verifyChain(current);
    if (!report.ok) return; // broken: restoring is the repair
    if (report.headSeq > backupHeadSeq) {
      throw refusal(`${to} holds entries ${backupHeadSeq + 1}..${report.headSeq} that the backup lacks; restoring would discard them`);
    }
    const atCurrentHead = report.headSeq === 0 ? undefined : backupHashAt(from, report.headSeq);
    if (report.headSeq > 0 && atCurrentHead !== report.headHash) {
      throw refusal(`${to} and the backup diverge at or before entry ${report.headSeq}`);
    }
  } finally {
    current.close();
  }
}

function backupHashAt(path: string, seq: number): string | undefined {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT hash FROM entries WHERE seq = ?').get(seq) as { hash: Buffer } | undefined;
    return row?.hash.toString('hex');
  } finally {
    db.close();
  }
}

function refusal(why: string): EdgepayError {
  return new EdgepayError('EDGEPAY_RESTORE_REFUSED', `${why} (use --force to restore anyway; the current journal is kept beside it)`, { why });
}
