import Database from 'better-sqlite3';
import { preparePrivateDatabase } from '../../platform/private-files.js';
import { ReplicationError } from '../../wire/errors.js';

/**
 * replicas.db: the node's copies of its peers' journals and its own outbox watermark. A file of
 * its own, never the journal: the journal has exactly one writer (the journal writer actor), and
 * replication must not compete with it for the write lock or grow its file.
 */
const SCHEMA_V1 = `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  -- The journal's own columns, so rows convert with the journal's rowToEntry and hash the same way.
  CREATE TABLE replica_entries (
    node_id          TEXT    NOT NULL,
    seq              INTEGER NOT NULL CHECK (seq >= 1),
    kind             TEXT    NOT NULL CHECK (kind IN ('authorization', 'capture', 'void', 'refund')),
    idempotency_key  TEXT    NOT NULL,
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
    hash             BLOB    NOT NULL CHECK (length(hash) = 32),
    -- The origin's Ed25519 signature, so this node can answer a repair with entries others verify.
    signature        BLOB    NOT NULL CHECK (length(signature) = 64),
    PRIMARY KEY (node_id, seq)
  ) STRICT, WITHOUT ROWID;

  -- Shared exposure reads only offline approvals in a time window, and the voids that release them.
  CREATE INDEX replica_offline_approvals ON replica_entries (wall_ms)
    WHERE approved = 1 AND kind = 'authorization' AND decision_mode = 'offline';
  CREATE INDEX replica_voids ON replica_entries (node_id, ref_seq) WHERE approved = 1 AND kind = 'void';

  -- A replica is a copy of an append-only journal: the database refuses edits like the original does.
  CREATE TRIGGER replica_entries_no_update BEFORE UPDATE ON replica_entries
    BEGIN SELECT RAISE(ABORT, 'replica entries are append-only'); END;
  CREATE TRIGGER replica_entries_no_delete BEFORE DELETE ON replica_entries
    BEGIN SELECT RAISE(ABORT, 'replica entries are append-only'); END;

  -- Written in the same transaction as the entries, so the head can be checked against them.
  CREATE TABLE replica_heads (
    node_id TEXT    PRIMARY KEY,
    seq     INTEGER NOT NULL,
    hash    BLOB    NOT NULL CHECK (length(hash) = 32)
  ) STRICT;

  -- The last own sequence number the broker acknowledged (PUBACK): the outbox resumes after it.
  CREATE TABLE outbox_watermark (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    seq     INTEGER NOT NULL CHECK (seq >= 0),
    wall_ms INTEGER NOT NULL
  ) STRICT;
`;

/*
 * v2: the signature becomes optional. A run carries one signature, its last entry's, which vouches
 * for the others through the chain (envelope.ts), so only the entries a message ended at keep one.
 * SQLite cannot relax a column's constraint in place: the table is rebuilt, rows copied as they are.
 */
const MIGRATE_V1_TO_V2 = `
  CREATE TABLE replica_entries_v2 (
    node_id          TEXT    NOT NULL,
    seq              INTEGER NOT NULL CHECK (seq >= 1),
    kind             TEXT    NOT NULL CHECK (kind IN ('authorization', 'capture', 'void', 'refund')),
    idempotency_key  TEXT    NOT NULL,
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
    hash             BLOB    NOT NULL CHECK (length(hash) = 32),
    -- The origin's Ed25519 signature where a message ended at this entry; NULL where a later one vouches for it.
    signature        BLOB    CHECK (signature IS NULL OR length(signature) = 64),
    PRIMARY KEY (node_id, seq)
  ) STRICT, WITHOUT ROWID;

  INSERT INTO replica_entries_v2 SELECT * FROM replica_entries;
  -- Dropping the table drops its indexes and triggers with it; they are made again below.
  DROP TABLE replica_entries;
  ALTER TABLE replica_entries_v2 RENAME TO replica_entries;

  CREATE INDEX replica_offline_approvals ON replica_entries (wall_ms)
    WHERE approved = 1 AND kind = 'authorization' AND decision_mode = 'offline';
  CREATE INDEX replica_voids ON replica_entries (node_id, ref_seq) WHERE approved = 1 AND kind = 'void';
  CREATE TRIGGER replica_entries_no_update BEFORE UPDATE ON replica_entries
    BEGIN SELECT RAISE(ABORT, 'replica entries are append-only'); END;
  CREATE TRIGGER replica_entries_no_delete BEFORE DELETE ON replica_entries
    BEGIN SELECT RAISE(ABORT, 'replica entries are append-only'); END;
`;

/** Each schema version's step from the one before; a new database runs them all (the copy of an empty table is free). */
export const REPLICA_MIGRATIONS: readonly string[] = [SCHEMA_V1, MIGRATE_V1_TO_V2];
const SCHEMA_VERSION = REPLICA_MIGRATIONS.length;

/** Opens (creating if needed) replicas.db for `nodeId`: WAL, synchronous=FULL, schema applied. */
export function openReplicaDatabase(path: string, nodeId: string): Database.Database {
  let db: Database.Database;
  try {
    // 0600 before SQLite makes it, so its -wal and -shm are 0600 too: replicas hold the peers' entries.
    if (path !== ':memory:') preparePrivateDatabase(path);
    db = new Database(path);
  } catch (cause) {
    throw storeError(path, `cannot be opened: ${(cause as Error).message}`, cause);
  }
  try {
    db.pragma('busy_timeout = 2000');
    if (path !== ':memory:') {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw storeError(path, `cannot enable WAL mode (got ${String(mode)})`);
    }
    // A replica acknowledged to the broker (PUBACK) must survive power loss like the journal does.
    db.pragma('synchronous = FULL');
    migrate(db, path);
    claimNode(db, path, nodeId);
    return db;
  } catch (cause) {
    db.close();
    if (cause instanceof ReplicationError) throw cause;
    throw storeError(path, (cause as Error).message, cause);
  }
}

/**
 * A second connection to an opened replicas.db for the outbox watermark alone, with
 * synchronous=NORMAL: its commits skip the fsync and become durable with the next FULL commit of
 * the main connection or the next checkpoint. Losing the last update only sends some entries again,
 * which receivers drop as duplicates, so the acknowledgement path does not pay an fsync per ack.
 */
export function openWatermarkConnection(path: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (cause) {
    throw storeError(path, `cannot be opened for the watermark: ${(cause as Error).message}`, cause);
  }
  try {
    db.pragma('busy_timeout = 2000');
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return db;
  } catch (cause) {
    db.close();
    throw storeError(path, (cause as Error).message, cause);
  }
}

function migrate(db: Database.Database, path: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) throw storeError(path, `schema version ${current} is newer than this edgepay understands (${SCHEMA_VERSION})`);
  if (current === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (const step of REPLICA_MIGRATIONS.slice(current)) db.exec(step);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

function claimNode(db: Database.Database, path: string, nodeId: string): void {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'node_id'").get() as { value: string } | undefined;
  if (!row) {
    db.prepare("INSERT INTO meta (key, value) VALUES ('node_id', ?)").run(nodeId);
    return;
  }
  // The watermark counts this node's own journal: another node's watermark would skip or repeat entries.
  if (row.value !== nodeId) throw storeError(path, `belongs to node ${JSON.stringify(row.value)}, not ${JSON.stringify(nodeId)}`);
}

function storeError(path: string, problem: string, cause?: unknown): ReplicationError {
  return new ReplicationError('EDGEPAY_REPLICATION_STORE_IO', `${path}: ${problem}`, { path }, cause === undefined ? undefined : { cause });
}
