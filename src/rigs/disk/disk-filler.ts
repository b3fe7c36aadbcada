import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

const CHUNK = Buffer.alloc(1024 * 1024);

/**
 * A box's data directory on a small tmpfs of its own, so filling it starves that node alone: the
 * journal's next commit meets ENOSPC (SQLITE_FULL), exactly as on a full disk. Needs root for the
 * mount; elsewhere `mount` says why and the disk fault is left out of the run.
 */
export class DiskFiller {
  private readonly filler: string;

  private constructor(readonly mountPoint: string) {
    this.filler = join(mountPoint, 'chaos-filler');
  }

  /** Mounts a tmpfs of `megabytes` at `mountPoint`; throws with the reason when the machine cannot. */
  static mount(mountPoint: string, megabytes: number): DiskFiller {
    if (userInfo().uid !== 0) throw new Error('mounting a tmpfs needs root');
    mkdirSync(mountPoint, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m,mode=0700`, 'tmpfs', mountPoint], { stdio: 'pipe' });
    return new DiskFiller(mountPoint);
  }

  /** Writes until the filesystem is full. */
  fill(): void {
    const fd = openSync(this.filler, 'a');
    try {
      for (;;) writeSync(fd, CHUNK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    } finally {
      closeSync(fd);
    }
  }

  free(): void {
    rmSync(this.filler, { force: true });
  }

  unmount(): void {
    this.free();
    execFileSync('umount', [this.mountPoint], { stdio: 'pipe' });
  }
}
