import { EdgepayError } from '../errors.js';

/**
 * Maps SQLite failures to edgepay's typed errors. The caller's payment is declined on any of these;
 * only the code tells an operator what to fix (free disk, permissions, a second process).
 */
export function storageError(cause: unknown, path: string): EdgepayError {
  if (cause instanceof EdgepayError) return cause;
  const sqliteCode = typeof (cause as { code?: unknown })?.code === 'string' ? (cause as { code: string }).code : '';
  const message = cause instanceof Error ? cause.message : String(cause);
  const details = { path, sqliteCode };
  if (sqliteCode === 'SQLITE_FULL' || /ENOSPC|database or disk is full/i.test(message)) {
    return new EdgepayError('EDGEPAY_JOURNAL_FULL', `journal ${path} is full: ${message}`, details, { cause });
  }
  if (sqliteCode.startsWith('SQLITE_READONLY') || /EROFS|readonly/i.test(message)) {
    return new EdgepayError('EDGEPAY_JOURNAL_READONLY', `journal ${path} is read-only: ${message}`, details, { cause });
  }
  if (sqliteCode.startsWith('SQLITE_BUSY') || sqliteCode.startsWith('SQLITE_LOCKED')) {
    return new EdgepayError('EDGEPAY_JOURNAL_LOCKED', `journal ${path} is locked by another connection: ${message}`, details, { cause });
  }
  return new EdgepayError('EDGEPAY_JOURNAL_IO', `journal ${path} failed: ${message}`, details, { cause });
}
