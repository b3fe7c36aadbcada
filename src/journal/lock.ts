import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { EdgepayError } from '../errors.js';

/**
 * One writer per journal: a lock file holding the owner's pid. A lock left by a process that died
 * (kill -9, power loss) is stale and taken over; a live owner makes the second opener fail at once.
 */
export class JournalLock {
  private released = false;

  private constructor(readonly lockPath: string) {}

  static lockPathOf(journalPath: string): string {
    return `${journalPath}.lock`;
  }

  /**
   * `sameProcessIsStale`: a lock held by this very process counts as stale. Only for an owner that
   * is itself guaranteed to be the single instance in the process (the supervised journal writer,
   * restarted only after its previous thread has exited): threads share the pid, so a thread
   * killed while holding the lock leaves it behind with a live pid.
   */
  static acquire(journalPath: string, options: { sameProcessIsStale?: boolean } = {}): JournalLock {
    const lockPath = JournalLock.lockPathOf(journalPath);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(lockPath, 'wx', 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return new JournalLock(lockPath);
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') throw cause;
        const owner = lockOwner(journalPath);
        if (owner !== undefined && !(options.sameProcessIsStale === true && owner === process.pid)) {
          throw new EdgepayError('EDGEPAY_JOURNAL_IN_USE', `journal ${journalPath} is in use by process ${owner}`, { path: journalPath, pid: owner });
        }
        rmSync(lockPath, { force: true });
      }
    }
    throw new EdgepayError('EDGEPAY_JOURNAL_IN_USE', `journal ${journalPath}: could not take the lock ${lockPath}`, { path: journalPath });
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    rmSync(this.lockPath, { force: true });
  }
}

/** The pid of a live process holding the journal's lock, or undefined when free or stale. */
export function lockOwner(journalPath: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(JournalLock.lockPathOf(journalPath), 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (cause) {
    // EPERM: the process exists but belongs to another user; it is alive.
    return (cause as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}
