import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EdgepayError } from '../errors.js';

export interface RunDir {
  readonly path: string;
  /** Removes the directory unless it is to be kept for inspection. */
  release(keep: boolean): void;
}

/**
 * A run (a benchmark, the demo, a chaos round) writes into one fresh directory, so a benchmark's
 * figures all describe the same filesystem. A directory given by the user is the place to work in,
 * not ours to empty: the run takes a new subdirectory of it and removes only that.
 */
export function makeRunDir(parent?: string): RunDir {
  const base = parent === undefined ? tmpdir() : resolve(parent);
  if (parent !== undefined) ensureDirectory(base);
  const path = mkdtempSync(join(base, 'edgepay-bench-'));
  return {
    path,
    release: (keep) => {
      if (!keep) rmSync(path, { recursive: true, force: true });
    },
  };
}

function ensureDirectory(path: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cause;
    mkdirSync(path, { recursive: true });
    return;
  }
  if (!isDirectory) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--dir: ${JSON.stringify(path)} is not a directory; give a directory on the filesystem to measure`, {
      option: '--dir',
      value: path,
    });
  }
}
