import Database from 'better-sqlite3';
import type { ForwardedOutcome } from '../journal/journal.js';
import { preparePrivateDatabase } from '../platform/private-files.js';
import { ReplicaReader } from '../replication/replicas/replica-reader.js';
import { REPLICA_READ_SLACK, cutAtSignature } from './signed-reads.js';
import { type CentreLink, type DrainReport, Uplink, type UplinkJournal } from './uplink.js';

export interface CustodyForwarderOptions {
  /** This node: the sender of what it forwards on others' behalf. */
  readonly self: string;
  readonly store: string;
  /** The replicator's replicas.db (read here through a read-only connection). */
  readonly replicasPath: string;
  /** This node's record of what the centre said about the entries it forwarded for others. */
  readonly marksPath: string;
  readonly centre: CentreLink;
  readonly batchSize: number;
}

/**
 * Forwards the replicated journals of peers this node holds in custody (silent past the
 * deadline) to the centre on their behalf, from the replicas: the same chain, hash for hash, as
 * the origin's. Safe to overlap with anyone else forwarding the same entries, the origin itself
 * included when it comes back: the centre is idempotent by (origin, seq) and refuses a different
 * entry under a held sequence number.
 */
export class CustodyForwarder {
  private readonly replicas: ReplicaReader;
  private readonly marks: Database.Database;
  private readonly uplinks = new Map<string, Uplink>();

  constructor(private readonly options: CustodyForwarderOptions) {
    this.replicas = new ReplicaReader(options.replicasPath);
    preparePrivateDatabase(options.marksPath);
    this.marks = new Database(options.marksPath);
    this.marks.pragma('journal_mode = WAL');
    this.marks.pragma('synchronous = FULL');
    this.marks.exec(`CREATE TABLE IF NOT EXISTS custody_forwarded (
      origin TEXT NOT NULL, seq INTEGER NOT NULL, result TEXT, reason TEXT, PRIMARY KEY (origin, seq)) STRICT`);
  }

  /** One round for one origin held in custody: everything of it the replicas hold and the centre does not. */
  forward(origin: string): Promise<DrainReport> {
    let uplink = this.uplinks.get(origin);
    if (uplink === undefined) {
      uplink = new Uplink({ origin, store: this.options.store, sender: this.options.self, journal: this.replicaJournal(origin), centre: this.options.centre, batchSize: this.options.batchSize });
      this.uplinks.set(origin, uplink);
    }
    return uplink.drain();
  }

  close(): void {
    this.replicas.close();
    this.marks.close();
  }

  private replicaJournal(origin: string): UplinkJournal {
    const lastMarked = this.marks.prepare('SELECT max(seq) FROM custody_forwarded WHERE origin = ?').pluck();
    const mark = this.marks.prepare('INSERT OR IGNORE INTO custody_forwarded (origin, seq, result, reason) VALUES (?, ?, ?, ?)');
    const headSeq = (): number => this.replicas.headSeq(origin);
    return {
      headSeq,
      read: (fromSeq, limit) => {
        // The origin's signatures travel with its entries: the centre checks them against the origin's registered key.
        return cutAtSignature(this.replicas.readFrom(origin, fromSeq, limit + REPLICA_READ_SLACK), limit);
      },
      // Marks are written in order behind the centre's contiguous head, so the first unmarked follows the last marked.
      firstUnforwardedSeq: () => {
        const next = ((lastMarked.get(origin) as number | null) ?? 0) + 1;
        return next <= headSeq() ? next : undefined;
      },
      record: async (outcomes: readonly ForwardedOutcome[]) => {
        this.marks.transaction(() => {
          for (const o of outcomes) mark.run(origin, o.seq, o.result, o.reason);
        })();
      },
    };
  }
}
