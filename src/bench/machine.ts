import Database from 'better-sqlite3';
import { statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, totalmem } from 'node:os';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly totalMemoryMiB: number;
  readonly platform: string;
  readonly arch: string;
  readonly kernel: string;
  readonly node: string;
  readonly betterSqlite3: string;
  readonly sqlite: string;
  /** The filesystem under the data directory: tmpfs or overlay numbers say nothing about a real disk. */
  readonly filesystem: string;
}

/** statfs f_type magic numbers (linux/magic.h) of the filesystems an edge node is likely to run on. */
const FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0xef53, 'ext2/3/4'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x2fc12fc1, 'zfs'],
  [0xf2f52010, 'f2fs'],
  [0x01021994, 'tmpfs'],
  [0x794c7630, 'overlayfs'],
  [0x4d44, 'vfat'],
  [0x6969, 'nfs'],
]);

export function machineInfo(dataDir: string): MachineInfo {
  const cpuList = cpus();
  return {
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    totalMemoryMiB: Math.round(totalmem() / 1_048_576),
    platform: platform(),
    arch: arch(),
    kernel: release(),
    node: process.version,
    betterSqlite3: betterSqlite3Version(),
    sqlite: sqliteVersion(),
    filesystem: filesystemOf(dataDir),
  };
}

function sqliteVersion(): string {
  const db = new Database(':memory:');
  try {
    return (db.prepare('SELECT sqlite_version() AS version').get() as { version: string }).version;
  } finally {
    db.close();
  }
}

function betterSqlite3Version(): string {
  const manifest: unknown = createRequire(import.meta.url)('better-sqlite3/package.json');
  const version = typeof manifest === 'object' && manifest !== null ? (manifest as { version?: unknown }).version : undefined;
  return typeof version === 'string' ? version : 'unknown';
}

function filesystemOf(dir: string): string {
  try {
    const type = statfsSync(dir).type;
    return FILESYSTEMS.get(type) ?? `unknown (statfs type 0x${type.toString(16)})`;
  } catch {
    return 'unknown';
  }
}
