import { closeSync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/** Makes a file's content durable. */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename or a new file name in this directory durable (POSIX needs the directory fsynced too). */
export function fsyncDirectoryOf(path: string): void {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The SQLite files that together make one WAL-mode database. */
export function sqliteFiles(path: string): readonly string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}
