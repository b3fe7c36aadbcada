import { chmodSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgepayError } from '../errors.js';

/*
 * A credentials directory for node processes started without systemd (the demo, the benches, the
 * chaos run): the same `credential:<name>` configuration as production, its files on a memory file
 * system as systemd's own /run/credentials is, so a key made for the run never reaches a disk and
 * is gone at the latest when the machine stops.
 */

/** statfs f_type of the file systems that live in memory. */
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

export interface MemoryCredentials {
  readonly directory: string;
  /** What a node process needs in its environment to read them (configPath resolves credential:<name> there). */
  readonly env: { readonly CREDENTIALS_DIRECTORY: string };
  /** Removes the directory and every credential in it. */
  remove(): void;
}

export function isMemoryFileSystem(path: string): boolean {
  try {
    const type = statfsSync(path).type;
    return type === TMPFS_MAGIC || type === RAMFS_MAGIC;
  } catch {
    return false;
  }
}

/** Where a memory directory can be made: the user's runtime directory, then /dev/shm. */
function memoryRoots(env: NodeJS.ProcessEnv): string[] {
  const uid = process.getuid?.();
  return [env.XDG_RUNTIME_DIR, uid === undefined ? undefined : `/run/user/${uid}`, '/dev/shm'].filter((p): p is string => p !== undefined && p !== '');
}

/** Writes `credentials` (name → content) into a new 0700 directory on a memory file system. */
export function createMemoryCredentials(credentials: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv = process.env): MemoryCredentials {
  const roots = memoryRoots(env);
  const root = roots.find(isMemoryFileSystem);
  if (root === undefined) {
    throw new EdgepayError('EDGEPAY_MEMORY_FS_MISSING', `no memory file system to hold this run's credentials (tried ${roots.join(', ')}): keys made for a run are never written to disk; mount a tmpfs on /dev/shm`, {
      tried: roots,
    });
  }
  const directory = mkdtempSync(join(root, 'edgepay-credentials-'));
  chmodSync(directory, 0o700);
  const remove = (): void => rmSync(directory, { recursive: true, force: true });
  try {
    for (const [name, content] of Object.entries(credentials)) writeFileSync(join(directory, name), content, { mode: 0o400 });
  } catch (error) {
    remove();
    throw error;
  }
  return { directory, env: { CREDENTIALS_DIRECTORY: directory }, remove };
}
