import Database from 'better-sqlite3';
import { BULK_ENTRY_COLUMNS, bulkRowToEntry } from '../../journal/row.js';
import type { HeldEntry } from '../../wire/envelope.js';

/**
 * Peers' replicas read from beside the replicator, on a read-only connection of its own (the
 * replicator keeps writing replicas.db meanwhile): the head of an origin's replica and its entries
 * from a sequence number on, each with the origin's signature where the replica holds one. Reads
 * see committed rows only, and nothing is cached: the replicator appends under them.
 */
export class ReplicaReader {
  private readonly db: Database.Database;
  private readonly selectHead: Database.Statement;
  private readonly selectFrom: Database.Statement;

  constructor(replicasPath: string) {
    this.db = new Database(replicasPath, { readonly: true, fileMustExist: true });
    this.db.pragma('busy_timeout = 1000');
    this.selectHead = this.db.prepare('SELECT seq FROM replica_heads WHERE node_id = ?').pluck();
    this.selectFrom = this.db.prepare(`SELECT ${BULK_ENTRY_COLUMNS}, signature FROM replica_entries WHERE node_id = ? AND seq >= ? ORDER BY seq LIMIT ?`).raw(true);
  }

  /** The last entry of `origin` the replica holds; 0 when it holds none. */
  headSeq(origin: string): number {
    return (this.selectHead.get(origin) as number | undefined) ?? 0;
  }

  /** At most `limit` stored entries of `origin` from `fromSeq` on, in order. */
  readFrom(origin: string, fromSeq: number, limit: number): HeldEntry[] {
    const rows = this.selectFrom.all(origin, fromSeq, limit) as unknown[][];
    // The signature is the last column: the origin's, which the centre checks against the origin's registered key.
    return rows.map((row) => ({ ...bulkRowToEntry(row), signature: row[row.length - 1] as Buffer | null }));
  }

  close(): void {
    this.db.close();
  }
}
