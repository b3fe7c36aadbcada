import type { RandomSource } from '../platform/random.js';

/** The unit a disk writes whole: a write cut by power loss persists some sectors and not others. */
export const SECTOR_BYTES = 512;
/** The chance a sector persists is drawn per write in these steps, from 0 to all of them. */
const PERSIST_STEPS = 8;

export interface TornFile {
  readonly bytes: Buffer;
  /** Every sector of the write reached the disk: the write is whole after all. */
  readonly whole: boolean;
  readonly sectorsWritten: number;
  readonly sectorsLost: number;
}

/**
 * A file as power loss leaves it in the middle of a write that was never fsynced: `before` is the
 * file as last made durable, `after` as the write would have left it. Each sector the write changes
 * persists or not, in any combination (a disk does not keep the order of unsynced writes), with a
 * chance drawn per write from none to all; past the old end of the file, the file keeps a random
 * number of the new sectors, the lost ones among them reading as zeros. Sectors the write does not
 * change stay as they were.
 */
export function tearWrite(before: Buffer | null, after: Buffer, random: RandomSource): TornFile {
  const old = before ?? Buffer.alloc(0);
  const sectors = Math.ceil(after.byteLength / SECTOR_BYTES);
  const oldSectors = Math.ceil(old.byteLength / SECTOR_BYTES);
  const eighths = random.int(PERSIST_STEPS + 1);
  // Past the old end the file's length is metadata of its own: it may keep any number of the new sectors.
  const kept = sectors > oldSectors && eighths < PERSIST_STEPS ? oldSectors + random.int(sectors - oldSectors + 1) : sectors;
  const torn = Buffer.alloc(Math.max(old.byteLength, Math.min(after.byteLength, kept * SECTOR_BYTES)));
  old.copy(torn);
  let written = 0;
  let lost = 0;
  for (let sector = 0; sector < sectors; sector++) {
    const start = sector * SECTOR_BYTES;
    const end = Math.min(start + SECTOR_BYTES, after.byteLength);
    if (old.subarray(start, end).equals(after.subarray(start, end))) continue;
    if (sector < kept && random.int(PERSIST_STEPS) < eighths) {
      after.copy(torn, start, start, Math.min(end, torn.byteLength));
      written++;
    } else {
      lost++;
      if (start >= old.byteLength && start < torn.byteLength) torn.fill(0, start, Math.min(end, torn.byteLength));
    }
  }
  return { bytes: torn, whole: torn.equals(after), sectorsWritten: written, sectorsLost: lost };
}
