import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

/**
 * Replaces `file` with `text` in one step: written and fsynced beside it, then renamed over it, so
 * a reader that opens the file meanwhile (Mosquitto on SIGHUP, systemd on daemon-reload) sees the
 * old content or the new, never half of it. For files other programs read; `mode` applies as given.
 */
export function replaceFileWhole(file: string, text: string, mode: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}
