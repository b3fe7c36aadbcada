import type Database from 'better-sqlite3';
import { EdgepayError } from '../errors.js';

/**
 * Schema migrations, applied in order inside one transaction each; PRAGMA user_version records the
 * last one applied. A journal written by a newer edgepay is refused rather than guessed at.
 */
interface Migration {
  readonly version: number;
  readonly sql: string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE entries (
        seq              INTEGER PRIMARY KEY CHECK (seq >= 1),
        node_id          TEXT    NOT NULL,
        kind             TEXT    NOT NULL CHECK (kind IN ('authorization', 'capture', 'void', 'refund')),
        idempotency_key  TEXT    NOT NULL UNIQUE,
        ref_seq          INTEGER,
        lane             TEXT,
        reference        TEXT,
        amount_minor     INTEGER NOT NULL CHECK (amount_minor >= 0),
        currency         TEXT    NOT NULL CHECK (length(currency) = 3),
        card_token       TEXT    NOT NULL,
        card_bin         TEXT    NOT NULL,
        card_last4       TEXT    NOT NULL,
        sealed_card      BLOB,
        approved         INTEGER NOT NULL CHECK (approved IN (0, 1)),
        decision_code    TEXT    NOT NULL,
        decision_reason  TEXT    NOT NULL,
        decision_rule    TEXT    NOT NULL,
        decision_mode    TEXT    NOT NULL CHECK (decision_mode IN ('offline', 'online')),
        wall_ms          INTEGER NOT NULL,
        mono_us          INTEGER NOT NULL,
        prev_hash        BLOB    NOT NULL CHECK (length(prev_hash) = 32),
        hash             BLOB    NOT NULL CHECK (length(hash) = 32)
      ) STRICT;

      -- Follow-ups (void, refund, capture) are found from their original; most entries have none.
      CREATE INDEX entries_by_ref ON entries (ref_seq) WHERE ref_seq IS NOT NULL;

      -- The journal is append-only: the database itself refuses edits and deletions.
      CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
        BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END;
      CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
        BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END;

      -- The head is written in the same transaction as the entries it covers, so a truncated tail
      -- (rows missing after the head) is detectable.
      CREATE TABLE chain_head (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        seq  INTEGER NOT NULL,
        hash BLOB    NOT NULL
      ) STRICT;

      -- Forwarding state changes after the fact, so it lives beside the chain, not in it.
      CREATE TABLE forwarded (
        seq     INTEGER PRIMARY KEY REFERENCES entries (seq),
        wall_ms INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    // What the centre said about each forwarded entry, for the reconciliation report.
    version: 2,
    sql: `
      ALTER TABLE forwarded ADD COLUMN result TEXT CHECK (result IN ('settled', 'exception', 'recorded'));
      ALTER TABLE forwarded ADD COLUMN reason TEXT;
    `,
  },
  {
    // What a node's start reads (its exposure) and what the uplink and every metrics scrape ask
    // (the first entry the centre lacks), found without walking the whole journal: the entries not
    // forwarded yet, kept by the database itself in the same transaction as each entry and each
    // forwarded mark, and the offline approvals by time. A million-entry journal otherwise costs
    // every start a full scan of both tables.
    version: 3,
    sql: `
      -- No foreign key: the triggers alone fill and empty it, and the chain check, not a
      -- constraint, is what finds an entry that went missing.
      CREATE TABLE unforwarded (
        seq INTEGER PRIMARY KEY
      ) STRICT;
      INSERT INTO unforwarded (seq)
        SELECT e.seq FROM entries e WHERE NOT EXISTS (SELECT 1 FROM forwarded f WHERE f.seq = e.seq);
      CREATE TRIGGER entries_await_forwarding AFTER INSERT ON entries
      BEGIN
        INSERT INTO unforwarded (seq) VALUES (NEW.seq);
      END;
      CREATE TRIGGER forwarded_clears_unforwarded AFTER INSERT ON forwarded
      BEGIN
        DELETE FROM unforwarded WHERE seq = NEW.seq;
      END;
      CREATE TRIGGER forwarded_no_delete BEFORE DELETE ON forwarded
      BEGIN
        SELECT RAISE(ABORT, 'a forwarded mark is never taken back');
      END;

      CREATE INDEX offline_approvals_by_time ON entries (wall_ms)
        WHERE approved = 1 AND kind = 'authorization' AND decision_mode = 'offline';
    `,
  },
];

/** The schema from which the journal keeps its unforwarded entries in a table of their own. */
export const UNFORWARDED_TABLE_SINCE = 3;

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function migrate(db: Database.Database, path: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new EdgepayError('EDGEPAY_JOURNAL_SCHEMA', `${path}: journal schema version ${current} is newer than this edgepay understands (${SCHEMA_VERSION}); upgrade edgepay`, {
      path,
      found: current,
      supported: SCHEMA_VERSION,
    });
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
}
