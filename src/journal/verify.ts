import type Database from 'better-sqlite3';
import { entryHash } from './canonical.js';
import { GENESIS_HASH } from './entry.js';
import { ENTRY_COLUMNS, type EntryRow, rowToEntry } from './row.js';

export type ChainProblemKind = 'gap' | 'prev_hash' | 'hash' | 'node_id' | 'head' | 'storage';

export interface ChainProblem {
  /** The first sequence number that is wrong (for a truncation, the first one missing). */
  readonly seq: number;
  readonly kind: ChainProblemKind;
  readonly message: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** Entries checked by this run. */
  readonly checked: number;
  readonly headSeq: number;
  readonly headHash: string;
  readonly problem?: ChainProblem;
}

/** How often a long walk reports how far it got: often enough for a bar, rare enough to cost nothing. */
const PROGRESS_EVERY_ENTRIES = 1_000;

/** Entries from `fromSeq` to the last one stored: what a walk from there will check when all is well. */
export function entriesFrom(db: Database.Database, fromSeq = 1): number {
  const last = (db.prepare('SELECT max(seq) AS seq FROM entries').get() as { seq: number | null }).seq ?? 0;
  return Math.max(0, last - Math.max(1, fromSeq) + 1);
}

interface HeadRow {
  seq: number;
  hash: Buffer;
}

/**
 * Walks the chain from `fromSeq` (1 for a full check) and returns the first problem: a gap in the
 * sequence, a link that does not point to its predecessor, an entry whose content no longer hashes
 * to its stored hash (an edit), another node's entry, or a head that disagrees with the last entry
 * (a truncated or extended tail). Streams rows, so memory stays flat on large journals.
 */
export function verifyChain(db: Database.Database, options: { nodeId?: string; fromSeq?: number; onProgress?: (checked: number) => void } = {}): VerifyReport {
  const fromSeq = Math.max(1, options.fromSeq ?? 1);
  let expectedPrev = GENESIS_HASH;
  if (fromSeq > 1) {
    const before = db.prepare('SELECT hash FROM entries WHERE seq = ?').get(fromSeq - 1) as { hash: Buffer } | undefined;
    if (!before) return fail(0, 0, GENESIS_HASH, { seq: fromSeq - 1, kind: 'gap', message: `entry ${fromSeq - 1} is missing` });
    expectedPrev = before.hash.toString('hex');
  }
  let expectedSeq = fromSeq;
  let checked = 0;
  let lastHash = expectedPrev;
  const rows = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE seq >= ? ORDER BY seq`).iterate(fromSeq) as IterableIterator<EntryRow>;
  try {
    for (const row of rows) {
      const entry = rowToEntry(row);
      if (entry.seq !== expectedSeq) {
        return fail(checked, expectedSeq - 1, lastHash, {
          seq: expectedSeq,
          kind: 'gap',
          message: `sequence ${expectedSeq} is missing (next entry present is ${entry.seq})`,
        });
      }
      if (options.nodeId !== undefined && entry.nodeId !== options.nodeId) {
        return fail(checked, entry.seq - 1, lastHash, {
          seq: entry.seq,
          kind: 'node_id',
          message: `entry ${entry.seq} belongs to node ${JSON.stringify(entry.nodeId)}, not ${JSON.stringify(options.nodeId)}`,
        });
      }
      if (entry.prevHash !== expectedPrev) {
        return fail(checked, entry.seq - 1, lastHash, {
          seq: entry.seq,
          kind: 'prev_hash',
          message: `entry ${entry.seq} links to ${entry.prevHash.slice(0, 16)}…, but entry ${entry.seq - 1} hashes to ${expectedPrev.slice(0, 16)}…`,
        });
      }
      const recomputed = entryHash(entry);
      if (recomputed !== entry.hash) {
        return fail(checked, entry.seq - 1, lastHash, {
          seq: entry.seq,
          kind: 'hash',
          message: `entry ${entry.seq} was altered: its content hashes to ${recomputed.slice(0, 16)}…, stored hash is ${entry.hash.slice(0, 16)}…`,
        });
      }
      checked++;
      if (checked % PROGRESS_EVERY_ENTRIES === 0) options.onProgress?.(checked);
      expectedSeq++;
      expectedPrev = entry.hash;
      lastHash = entry.hash;
    }
  } catch (cause) {
    // A page so damaged that SQLite cannot read it is still a chain problem at the next sequence.
    return fail(checked, expectedSeq - 1, lastHash, {
      seq: expectedSeq,
      kind: 'storage',
      message: `entry ${expectedSeq} cannot be read: ${(cause as Error).message}`,
    });
  }
  const lastSeq = expectedSeq - 1;
  const head = db.prepare('SELECT seq, hash FROM chain_head WHERE id = 1').get() as HeadRow | undefined;
  const headSeq = head?.seq ?? 0;
  const headHash = head ? head.hash.toString('hex') : GENESIS_HASH;
  if (headSeq > lastSeq) {
    return fail(checked, lastSeq, lastHash, {
      seq: lastSeq + 1,
      kind: 'head',
      message: `journal truncated: the head records entry ${headSeq}, but entries end at ${lastSeq}`,
    });
  }
  if (headSeq < lastSeq) {
    return fail(checked, lastSeq, lastHash, {
      seq: headSeq + 1,
      kind: 'head',
      message: `entries ${headSeq + 1}..${lastSeq} lie beyond the recorded head ${headSeq}: written outside the journal`,
    });
  }
  if (headSeq > 0 && headHash !== lastHash) {
    return fail(checked, lastSeq, lastHash, {
      seq: headSeq,
      kind: 'head',
      message: `the head's hash for entry ${headSeq} does not match the entry`,
    });
  }
  return { ok: true, checked, headSeq: lastSeq, headHash: lastHash };
}

function fail(checked: number, headSeq: number, headHash: string, problem: ChainProblem): VerifyReport {
  return { ok: false, checked, headSeq, headHash, problem };
}
