import type { KeyObject } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { openPrivateFile } from '../platform/private-files.js';
import { ReplicationError } from '../wire/errors.js';
import { type OpenedRules, type RulesScope, openRulesMessage } from './message.js';

/**
 * The last rules message a node accepted, kept verbatim (rules and signature) in
 * `<dataDir>/rules-distributed.json`, so a restart, with or without the broker, decides with
 * them again, and re-verifies them first: the file is no more trusted than the wire.
 */
export const DISTRIBUTED_RULES_FILE = 'rules-distributed.json';

export function distributedRulesPathOf(dataDir: string): string {
  return resolve(dataDir, DISTRIBUTED_RULES_FILE);
}

/**
 * Written beside the target, fsynced, renamed over it, and the directory fsynced: after a crash
 * the file holds either the previous message or the new one, whole.
 */
export function writeDistributedRules(file: string, payload: Buffer): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    // The hot-card list's tokens are card facts: the node's user's alone, like the journal.
    const fd = openPrivateFile(temp, 'w');
    try {
      let written = 0;
      while (written < payload.byteLength) written += writeSync(fd, payload, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
    const dir = openSync(dirname(file), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (cause) {
    rmSync(temp, { force: true });
    throw new ReplicationError('EDGEPAY_REPLICATION_STORE_IO', `cannot write ${file}: ${(cause as Error).message}`, { file }, { cause });
  }
}

export type StoredRules = { readonly payload: Buffer } & OpenedRules;

/** The stored message, re-verified; undefined when no rules were ever distributed to this node. */
export function readDistributedRules(file: string, scope: RulesScope, rulesPublicKey: KeyObject): StoredRules | undefined {
  let payload: Buffer;
  try {
    payload = readFileSync(file);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { payload: Buffer.alloc(0), ok: false, reason: 'malformed', detail: `cannot read ${file}: ${(cause as Error).message}` };
  }
  return { payload, ...openRulesMessage(payload, scope, rulesPublicKey) };
}
