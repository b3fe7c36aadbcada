import Database from 'better-sqlite3';
import { storageError } from './storage-errors.js';

/**
 * Opens a database file that must be there already (never creates one), with SQLite's failures as
 * edgepay's storage errors. Read-write on purpose: a read-only connection to a WAL database
 * leaves -wal and -shm files behind when it closes; callers that only read set query_only.
 */
export function openExistingDatabase(path: string): Database.Database {
  try {
    return new Database(path, { fileMustExist: true });
  } catch (cause) {
    throw storageError(cause, path);
  }
}
