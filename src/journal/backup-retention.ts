import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EdgepayError } from '../errors.js';
import { type BackupProgress, type BackupResult, backupJournal } from './backup.js';

/** `journal-20261128T021500Z.db`: sorts by time as text. */
const NAME = /^journal-(\d{8}T\d{6}Z)\.db$/;

export interface RetainedBackup extends BackupResult {
  /** Older copies removed to keep `keep`. */
  readonly removed: readonly string[];
}

/**
 * A dated backup in `dir`, then only the newest `keep` of them kept. The new copy is complete
 * and verified before any old one is removed, so a failed backup never costs an older good one.
 */
export async function backupWithRetention(db: string, dir: string, keep: number, now = new Date(), onProgress?: BackupProgress): Promise<RetainedBackup> {
  if (!Number.isSafeInteger(keep) || keep < 1 || keep > 10_000) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--keep: must be a whole number of copies from 1 to 10000, got ${keep}`, { option: '--keep', value: keep });
  }
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  const result = await backupJournal(db, join(dir, `journal-${stamp}.db`), onProgress === undefined ? {} : { onProgress });
  const copies = readdirSync(dir)
    .filter((name) => NAME.test(name))
    .sort();
  const removed = copies.slice(0, Math.max(0, copies.length - keep));
  for (const name of removed) rmSync(join(dir, name), { force: true });
  return { ...result, removed };
}
