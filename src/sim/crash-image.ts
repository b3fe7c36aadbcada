import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { sqliteFiles } from '../journal/files.js';

/** Each SQLite file of some databases as the operating system holds it: its bytes, or null if absent. */
export type CrashImage = ReadonlyMap<string, Buffer | null>;

/**
 * What a kill -9 leaves of open databases: every byte the process handed the kernel, the WAL and
 * its index included. Taken while the connections are still open, because closing the last
 * connection checkpoints the WAL and removes it, which a killed process never does.
 */
export function takeCrashImage(databases: readonly string[]): CrashImage {
  const image = new Map<string, Buffer | null>();
  for (const database of databases) {
    for (const file of sqliteFiles(database)) image.set(file, existsSync(file) ? readFileSync(file) : null);
  }
  return image;
}

/** Puts the files back as the image has them, after the connections are gone. */
export function installCrashImage(image: CrashImage): void {
  for (const [file, bytes] of image) {
    if (bytes === null) rmSync(file, { force: true });
    else writeFileSync(file, bytes);
  }
}
