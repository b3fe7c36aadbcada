import { closeSync, createReadStream, createWriteStream, fsyncSync, mkdirSync, openSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { type AddressInfo, createServer, connect } from 'node:net';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { defaultRules } from '../rules/defaults.js';
import { Journal } from '../journal/journal.js';
import { backupJournal } from '../journal/backup.js';
import { restoreJournal } from '../journal/restore.js';
import { rebuildExposure } from '../standin/rebuild.js';
import { makeRunDir } from '../rigs/run-dir.js';
import { roundTo } from './latency.js';
import { type MachineInfo, machineInfo } from './machine.js';
import { fillBacklog } from './reconcile-fill.js';

export interface RecoveryBenchReport {
  readonly bench: 'recovery';
  readonly machine: MachineInfo;
  readonly entries: number;
  readonly journalBytes: number;
  readonly backup: { readonly seconds: number; readonly bytes: number };
  /** The copy sent over a TCP connection on this machine and fsynced at the other end: the floor of a transfer. */
  readonly transfer: { readonly loopbackSeconds: number; readonly at100MbitSeconds: number; readonly at1GbitSeconds: number };
  /** Verify the whole chain, install, keep the replaced files aside. */
  readonly restore: { readonly seconds: number };
  /** What the node does at start on the restored journal: tail check and exposure rebuild. */
  readonly firstStart: { readonly seconds: number };
  readonly recovery: { readonly loopbackSeconds: number; readonly at100MbitSeconds: number };
}

/**
 * Disaster recovery of one box, timed: a journal of `entries` is backed up, the backup copied to
 * the replacement over TCP, restored (whole chain verified) and opened as the node opens it.
 */
export async function runRecoveryBench(options: { entries: number; dir?: string; keep?: boolean; progress?: (line: string) => void }): Promise<RecoveryBenchReport> {
  const progress = options.progress ?? (() => undefined);
  const dir = makeRunDir(options.dir);
  try {
    const machine = machineInfo(dir.path);
    const source = join(dir.path, 'old-box', 'journal.db');
    progress(`writing a journal of ${options.entries} entries`);
    const journal = Journal.open({ path: source, nodeId: 'box-1' });
    fillBacklog(journal, options.entries);
    journal.close();
    const journalBytes = statSync(source).size;

    progress('online backup (verified)');
    const backupFile = join(dir.path, 'backups', 'journal.db');
    const backup = await backupJournal(source, backupFile);
    const bytes = statSync(backupFile).size;

    progress(`copying ${(bytes / 1e6).toFixed(0)} MB to the replacement box over TCP`);
    const received = join(dir.path, 'new-box', 'incoming.db');
    const loopbackSeconds = await copyOverTcp(backupFile, received);

    progress('restore: the whole chain verified, then installed');
    const target = join(dir.path, 'new-box', 'journal.db');
    let started = performance.now();
    restoreJournal({ from: received, to: target });
    const restoreSeconds = (performance.now() - started) / 1000;

    progress('first start on the restored journal');
    started = performance.now();
    const restored = Journal.open({ path: target, nodeId: 'box-1' });
    rebuildExposure(restored, defaultRules(), Date.now());
    restored.close();
    const firstStartSeconds = (performance.now() - started) / 1000;

    const atRate = (bitsPerSecond: number): number => roundTo((bytes * 8) / bitsPerSecond, 1);
    const fixed = restoreSeconds + firstStartSeconds;
    return {
      bench: 'recovery',
      machine,
      entries: options.entries,
      journalBytes,
      backup: { seconds: roundTo(backup.durationMs / 1000, 1), bytes },
      transfer: { loopbackSeconds: roundTo(loopbackSeconds, 1), at100MbitSeconds: atRate(100e6), at1GbitSeconds: atRate(1e9) },
      restore: { seconds: roundTo(restoreSeconds, 1) },
      firstStart: { seconds: roundTo(firstStartSeconds, 2) },
      recovery: { loopbackSeconds: roundTo(loopbackSeconds + fixed, 1), at100MbitSeconds: roundTo(atRate(100e6) + fixed, 1) },
    };
  } finally {
    dir.release(options.keep === true);
  }
}

async function copyOverTcp(from: string, to: string): Promise<number> {
  mkdirSync(dirname(to), { recursive: true });
  const server = createServer((socket) => void pipeline(createReadStream(from), socket).catch(() => undefined));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const started = performance.now();
  try {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const out = createWriteStream(to);
    await pipeline(socket, out);
    const fd = openSync(to, 'r');
    fsyncSync(fd);
    closeSync(fd);
    return (performance.now() - started) / 1000;
  } finally {
    server.close();
  }
}
