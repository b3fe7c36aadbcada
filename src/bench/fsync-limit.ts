import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LatencyRecorder, type LatencySummary, ratePerSecond, roundTo } from './latency.js';

export interface FsyncLimitOptions {
  readonly dir: string;
  readonly seconds: number;
  readonly blockBytes: number;
}

export type FsyncProbeMode = 'append+fdatasync' | 'overwrite+fsync';

export interface FsyncProbeResult {
  readonly mode: FsyncProbeMode;
  readonly blockBytes: number;
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly latency: LatencySummary;
}

/** Blocks rewritten in turn by the overwrite probe: a WAL that was reset after a checkpoint is reused like this. */
const OVERWRITE_SLOTS = 16;
/** The first syncs of a new file pay for allocating it; they are not the steady state. */
const WARMUP_OPS = 32;

/**
 * The physical limit of a durable commit on this filesystem: one small write followed by a flush
 * to stable storage, as fast as the device allows. Nothing built on the disk can commit more often.
 */
export function measureFsyncLimit(options: FsyncLimitOptions): FsyncProbeResult {
  return probe(options, 'append+fdatasync');
}

/**
 * better-sqlite3's SQLite is built without HAVE_FDATASYNC, so a commit calls fsync(), and once the
 * WAL has been checkpointed and reset its frames overwrite old ones instead of growing the file.
 * This probe shows what that costs, to read the pipeline figures against.
 */
export function measureSqliteStyleSync(options: FsyncLimitOptions): FsyncProbeResult {
  return probe(options, 'overwrite+fsync');
}

function probe(options: FsyncLimitOptions, mode: FsyncProbeMode): FsyncProbeResult {
  const path = join(options.dir, `fsync-probe-${mode.replace('+', '-')}.bin`);
  const block = randomBytes(options.blockBytes);
  const append = mode === 'append+fdatasync';
  const fd = openSync(path, append ? 'a' : 'w+');
  try {
    if (!append) {
      writeSync(fd, Buffer.alloc(options.blockBytes * OVERWRITE_SLOTS));
      fsyncSync(fd);
    }
    let slot = 0;
    const once = (): void => {
      if (append) {
        writeSync(fd, block);
        fdatasyncSync(fd);
      } else {
        writeSync(fd, block, 0, block.length, (slot++ % OVERWRITE_SLOTS) * options.blockBytes);
        fsyncSync(fd);
      }
    };
    for (let i = 0; i < WARMUP_OPS; i++) once();
    const latency = new LatencyRecorder();
    const start = performance.now();
    const deadline = start + options.seconds * 1000;
    let now = start;
    while (now < deadline) {
      once();
      const end = performance.now();
      latency.add(end - now);
      now = end;
    }
    const elapsedMs = now - start;
    return {
      mode,
      blockBytes: options.blockBytes,
      ops: latency.count,
      seconds: roundTo(elapsedMs / 1000, 3),
      opsPerSec: ratePerSecond(latency.count, elapsedMs),
      latency: latency.summary(),
    };
  } finally {
    closeSync(fd);
  }
}
