import type Database from 'better-sqlite3';
import { entryHash } from '../../journal/canonical.js';
import { GENESIS_HASH } from '../../journal/entry.js';
import { ENTRY_COLUMNS, type EntryRow, rowToEntry } from '../../journal/row.js';
import type { ChainProblem, VerifyReport } from '../../journal/verify.js';

/**
 * The journal's verify, for one origin's replica: contiguous from 1, each entry linked to its
 * predecessor, each hashing (canonical encoding) to its stored hash, all of that origin, and the
 * recorded head at the last entry. Streams rows, so memory stays flat.
 */
export function verifyReplicaChain(db: Database.Database, origin: string): VerifyReport {
  const rows = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM replica_entries WHERE node_id = ? ORDER BY seq`).iterate(origin) as IterableIterator<EntryRow>;
  let expectedSeq = 1;
  let expectedPrev = GENESIS_HASH;
  let checked = 0;
  for (const row of rows) {
    const entry = rowToEntry(row);
    const at = (kind: ChainProblem['kind'], message: string) => fail(checked, expectedSeq - 1, expectedPrev, { seq: entry.seq, kind, message });
    if (entry.seq !== expectedSeq) return at('gap', `${origin}: sequence ${expectedSeq} is missing (next entry present is ${entry.seq})`);
    if (entry.nodeId !== origin) return at('node_id', `${origin}: entry ${entry.seq} belongs to ${entry.nodeId}`);
    if (entry.prevHash !== expectedPrev) return at('prev_hash', `${origin}: entry ${entry.seq} does not link to entry ${entry.seq - 1}`);
    const recomputed = entryHash(entry);
    if (recomputed !== entry.hash) return at('hash', `${origin}: entry ${entry.seq} hashes to ${recomputed.slice(0, 16)}…, stored ${entry.hash.slice(0, 16)}…`);
    checked++;
    expectedSeq++;
    expectedPrev = entry.hash;
  }
  const lastSeq = expectedSeq - 1;
  const head = db.prepare('SELECT seq, hash FROM replica_heads WHERE node_id = ?').get(origin) as { seq: number; hash: Buffer } | undefined;
  const headSeq = head?.seq ?? 0;
  if (headSeq !== lastSeq || (head !== undefined && head.hash.toString('hex') !== expectedPrev)) {
    return fail(checked, lastSeq, expectedPrev, {
      seq: Math.min(headSeq, lastSeq) + 1,
      kind: 'head',
      message: `${origin}: the recorded head (${headSeq}) disagrees with the entries (last ${lastSeq})`,
    });
  }
  return { ok: true, checked, headSeq: lastSeq, headHash: expectedPrev };
}

function fail(checked: number, headSeq: number, headHash: string, problem: ChainProblem): VerifyReport {
  return { ok: false, checked, headSeq, headHash, problem };
}
