import Database from 'better-sqlite3';
import { preparePrivateDatabase } from '../platform/private-files.js';
import { GENESIS_HASH } from '../journal/entry.js';
import { currencyOfAccount } from './accounts.js';
import type { ForwardBatch } from './batch.js';
import { type HeldRow, type OriginalRow, type ReversalRow, balanceDeltas, batchNeeds, heldMap, originalsMap } from './batch-needs.js';
import type { ExceptionRow, HeldEntry, IngestContext, InvariantReport, LedgerBackend, OriginReport } from './ledger-backend.js';
import { type OnlineDecision, type OnlineRequest, type OnlineStatus, type RecordedAnswer, repeatedDecision } from './online.js';
import type { CardStanding, LedgerView, OnlineRecord, Plan } from './plan.js';
import { type NodeRegistration, type RegisteredNode, registrationChange } from './node-registry.js';
import { nodeExists, nodeNotRegistered } from './registry-errors.js';
import { readOriginReports } from './reports.js';

const BASE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ledger_heads (
    origin TEXT PRIMARY KEY,
    seq    INTEGER NOT NULL,
    hash   TEXT NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS ledger_entries (
    origin          TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    hash            TEXT NOT NULL,
    store           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    ref_seq         INTEGER,
    amount_minor    INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency        TEXT NOT NULL,
    card_token      TEXT NOT NULL,
    approved        INTEGER NOT NULL,
    mode            TEXT NOT NULL,
    wall_ms         INTEGER NOT NULL,
    result          TEXT NOT NULL CHECK (result IN ('settled', 'exception', 'recorded')),
    reason          TEXT,
    merchant_minor  INTEGER NOT NULL,
    posted_account  TEXT,
    sender          TEXT NOT NULL,
    batch_id        TEXT NOT NULL,
    ingested_ms     INTEGER NOT NULL,
    PRIMARY KEY (origin, seq)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS ledger_entries_by_ref ON ledger_entries (origin, ref_seq) WHERE ref_seq IS NOT NULL;
  -- One POS payment is paid once, whichever node forwards it: a second posting fails the batch.
  CREATE UNIQUE INDEX IF NOT EXISTS ledger_sales_once ON ledger_entries (store, idempotency_key)
    WHERE kind = 'authorization' AND posted_account IS NOT NULL;
  CREATE INDEX IF NOT EXISTS ledger_exceptions ON ledger_entries (result) WHERE result = 'exception';
  CREATE TABLE IF NOT EXISTS ledger_postings (
    origin       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    leg          INTEGER NOT NULL,
    account      TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    PRIMARY KEY (origin, seq, leg)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS ledger_balances (
    account       TEXT PRIMARY KEY,
    currency      TEXT NOT NULL,
    balance_minor INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS online_authorizations (
    origin          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('approved', 'declined', 'reversed')),
    code            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    amount_minor    INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    card_token      TEXT NOT NULL,
    updated_ms      INTEGER NOT NULL,
    PRIMARY KEY (origin, idempotency_key)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS card_standings (
    card_token TEXT PRIMARY KEY,
    standing   TEXT NOT NULL CHECK (standing IN ('hot_listed', 'insufficient_funds'))
  ) STRICT;
`;

const NODE_REGISTRY = `
  CREATE TABLE centre_nodes (
    node_id        TEXT PRIMARY KEY,
    store          TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    added_ms       INTEGER NOT NULL,
    revoked_ms     INTEGER
  ) STRICT;
`;

/**
 * Schema versions, applied in order and recorded in user_version. The first is written to be
 * idempotent because ledgers made before versioning already hold its tables at version 0.
 */
const MIGRATIONS = [BASE_SCHEMA, NODE_REGISTRY] as const;

const NODE_COLUMNS = 'node_id AS nodeId, store, public_key_pem AS publicKeyPem, added_ms AS addedMs, revoked_ms AS revokedMs';

/**
 * Connection settings of the embedded ledger. The page cache is far above SQLite's 2 MiB default:
 * every batch probes the idempotency-key index at random, and a ledger of millions of entries
 * would otherwise read that index from disk page by page.
 */
export const SQLITE_LEDGER_PRAGMAS = ['journal_mode = WAL', 'synchronous = FULL', 'busy_timeout = 5000', 'cache_size = -65536'] as const;

/**
 * The embedded ledger: one SQLite file in WAL mode with synchronous=FULL, for the demo and small
 * deployments. A batch is one IMMEDIATE transaction; better-sqlite3 is synchronous, so the whole
 * read-plan-write runs without yielding and two ingests can never interleave.
 */
export class SqliteLedger implements LedgerBackend {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  static open(path: string): SqliteLedger {
    // The centre's ledger holds every store's entries and sealed card data: 0600 with its -wal and -shm.
    preparePrivateDatabase(path);
    const db = new Database(path);
    for (const pragma of SQLITE_LEDGER_PRAGMAS) db.pragma(pragma);
    migrate(db);
    return new SqliteLedger(db);
  }

  async registerNode(registration: NodeRegistration, nowMs: number): Promise<{ node: RegisteredNode; changed: boolean }> {
    return this.db
      .transaction(() => {
        const held = this.db.prepare(`SELECT ${NODE_COLUMNS} FROM centre_nodes WHERE node_id = ?`).get(registration.nodeId) as RegisteredNode | undefined;
        const change = registrationChange(held, registration);
        if (typeof change === 'object') throw nodeExists(registration.nodeId, change.conflict);
        if (change === 'unchanged') return { node: held!, changed: false };
        const node: RegisteredNode = { ...registration, addedMs: nowMs, revokedMs: null };
        this.db.prepare('INSERT OR REPLACE INTO centre_nodes (node_id, store, public_key_pem, added_ms, revoked_ms) VALUES (?, ?, ?, ?, NULL)').run(node.nodeId, node.store, node.publicKeyPem, node.addedMs);
        return { node, changed: true };
      })
      .immediate();
  }

  async revokeNode(nodeId: string, nowMs: number): Promise<RegisteredNode> {
    return this.db
      .transaction(() => {
        this.db.prepare('UPDATE centre_nodes SET revoked_ms = coalesce(revoked_ms, ?) WHERE node_id = ?').run(nowMs, nodeId);
        const node = this.db.prepare(`SELECT ${NODE_COLUMNS} FROM centre_nodes WHERE node_id = ?`).get(nodeId) as RegisteredNode | undefined;
        if (node === undefined) throw nodeNotRegistered(nodeId);
        return node;
      })
      .immediate();
  }

  async registeredNode(nodeId: string): Promise<RegisteredNode | undefined> {
    return this.db.prepare(`SELECT ${NODE_COLUMNS} FROM centre_nodes WHERE node_id = ?`).get(nodeId) as RegisteredNode | undefined;
  }

  async registeredNodes(): Promise<RegisteredNode[]> {
    return this.db.prepare(`SELECT ${NODE_COLUMNS} FROM centre_nodes ORDER BY store, node_id`).all() as RegisteredNode[];
  }

  async ingest(batch: ForwardBatch, plan: (view: LedgerView) => Plan, context: IngestContext): Promise<Plan> {
    return this.db
      .transaction(() => {
        const view = this.readView(batch, context);
        const planned = plan(view);
        if (planned.ok) this.apply(planned, context.nowMs);
        return planned;
      })
      .immediate();
  }

  async setCardStanding(cardToken: string, standing: CardStanding | null): Promise<void> {
    if (standing === null) this.db.prepare('DELETE FROM card_standings WHERE card_token = ?').run(cardToken);
    else this.db.prepare('INSERT INTO card_standings (card_token, standing) VALUES (?, ?) ON CONFLICT (card_token) DO UPDATE SET standing = excluded.standing').run(cardToken, standing);
  }

  async authorizeOnline(request: OnlineRequest, decide: (standing: CardStanding | undefined) => OnlineDecision, nowMs: number): Promise<OnlineDecision> {
    return this.db
      .transaction(() => {
        const known = this.db
          .prepare('SELECT status, code, reason, amount_minor AS amountMinor, currency, card_token AS cardToken FROM online_authorizations WHERE origin = ? AND idempotency_key = ?')
          .get(request.origin, request.idempotencyKey) as RecordedAnswer | undefined;
        if (known !== undefined) return repeatedDecision(known, request);
        const standing = this.db.prepare('SELECT standing FROM card_standings WHERE card_token = ?').pluck().get(request.cardToken) as CardStanding | undefined;
        const decision = decide(standing);
        this.db
          .prepare('INSERT INTO online_authorizations (origin, idempotency_key, status, code, reason, amount_minor, currency, card_token, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(request.origin, request.idempotencyKey, decision.approved ? 'approved' : 'declined', decision.code, decision.reason, request.amountMinor, request.currency, request.cardToken, nowMs);
        return decision;
      })
      .immediate();
  }

  async reverseOnline(origin: string, idempotencyKey: string, nowMs: number): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO online_authorizations (origin, idempotency_key, status, code, reason, amount_minor, currency, card_token, updated_ms)
         VALUES (?, ?, 'reversed', '', 'reversed before its request arrived', 0, '', '', ?)
         ON CONFLICT (origin, idempotency_key) DO UPDATE SET status = 'reversed', updated_ms = excluded.updated_ms`,
      )
      .run(origin, idempotencyKey, nowMs);
  }

  async onlineStatus(origin: string, idempotencyKey: string): Promise<OnlineStatus | undefined> {
    return this.db.prepare('SELECT status FROM online_authorizations WHERE origin = ? AND idempotency_key = ?').pluck().get(origin, idempotencyKey) as OnlineStatus | undefined;
  }

  async hotListedTokens(): Promise<string[]> {
    return this.db.prepare("SELECT card_token FROM card_standings WHERE standing = 'hot_listed' ORDER BY card_token").pluck().all() as string[];
  }

  async headOf(origin: string): Promise<number> {
    return (this.db.prepare('SELECT seq FROM ledger_heads WHERE origin = ?').pluck().get(origin) as number | undefined) ?? 0;
  }

  async originReports(): Promise<OriginReport[]> {
    return readOriginReports((sql) => this.db.prepare(sql).all() as Record<string, unknown>[]);
  }

  async originReport(origin: string): Promise<OriginReport | undefined> {
    const [report] = await readOriginReports((sql) => this.db.prepare(sql).all(origin) as Record<string, unknown>[], '?');
    return report;
  }

  async exceptions(limit = 1_000): Promise<ExceptionRow[]> {
    return this.db
      .prepare(
        `SELECT origin, seq, store, idempotency_key AS idempotencyKey, amount_minor AS amountMinor, currency, reason, wall_ms AS wallMs
         FROM ledger_entries WHERE result = 'exception' ORDER BY origin, seq LIMIT ?`,
      )
      .all(limit) as ExceptionRow[];
  }

  async heldEntries(origin: string, fromSeq: number, limit: number): Promise<HeldEntry[]> {
    return this.db.prepare('SELECT seq, hash, result, reason FROM ledger_entries WHERE origin = ? AND seq >= ? ORDER BY seq LIMIT ?').all(origin, fromSeq, limit) as HeldEntry[];
  }

  async sendersOf(origin: string): Promise<Record<string, number>> {
    const rows = this.db.prepare('SELECT sender, count(*) AS n FROM ledger_entries WHERE origin = ? GROUP BY sender').all(origin) as { sender: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.sender, r.n]));
  }

  async checkInvariants(): Promise<InvariantReport> {
    const one = (sql: string): number => Number(this.db.prepare(sql).pluck().get() ?? 0);
    const balances = Object.fromEntries((this.db.prepare('SELECT account, balance_minor FROM ledger_balances ORDER BY account').raw().all() as [string, number][]).map(([a, b]) => [a, b]));
    return {
      unbalancedTransfers: one('SELECT count(*) FROM (SELECT 1 FROM ledger_postings GROUP BY origin, seq HAVING sum(amount_minor) <> 0)'),
      balanceMismatches:
        one(
          `SELECT count(*) FROM ledger_balances b
         LEFT JOIN (SELECT account, sum(amount_minor) AS total FROM ledger_postings GROUP BY account) p ON p.account = b.account
         WHERE b.balance_minor <> coalesce(p.total, 0)`,
        ) + one('SELECT count(*) FROM (SELECT account FROM ledger_postings GROUP BY account) p WHERE p.account NOT IN (SELECT account FROM ledger_balances)'),
      transfers: one('SELECT count(*) FROM (SELECT 1 FROM ledger_postings GROUP BY origin, seq)'),
      postings: one('SELECT count(*) FROM ledger_postings'),
      balances,
    };
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private readView(batch: ForwardBatch, context: IngestContext): LedgerView {
    const headRow = this.db.prepare('SELECT seq, hash FROM ledger_heads WHERE origin = ?').get(batch.origin) as { seq: number; hash: string } | undefined;
    const head = headRow ?? { seq: 0, hash: GENESIS_HASH };
    const needs = batchNeeds(batch, head.seq);
    const held =
      needs.heldTo >= needs.heldFrom
        ? (this.db.prepare('SELECT seq, hash, result, reason, merchant_minor AS merchantMinor FROM ledger_entries WHERE origin = ? AND seq BETWEEN ? AND ?').all(batch.origin, needs.heldFrom, needs.heldTo) as HeldRow[])
        : [];
    const originals = this.inList<OriginalRow>('SELECT seq, kind, amount_minor AS amountMinor, currency, posted_account AS postedAccount FROM ledger_entries WHERE origin = ? AND seq IN', [batch.origin], needs.refSeqs);
    const reversals = this.inList<{ refSeq: number; reversedMinor: number; voided: number }>(
      `SELECT ref_seq AS refSeq, -sum(merchant_minor) AS reversedMinor, max(kind = 'void') AS voided FROM ledger_entries
       WHERE origin = ? AND result = 'settled' AND ref_seq IN`,
      [batch.origin],
      needs.refSeqs,
      'GROUP BY ref_seq',
    ).map((r): ReversalRow => ({ refSeq: r.refSeq, reversedMinor: r.reversedMinor, voided: r.voided === 1 }));
    const keys = this.inList<{ key: string }>(
      `SELECT idempotency_key AS key FROM ledger_entries WHERE store = ? AND origin <> ? AND kind = 'authorization' AND posted_account IS NOT NULL AND idempotency_key IN`,
      [batch.store, batch.origin],
      needs.approvalKeys,
    );
    const standings = this.inList<{ token: string; standing: string }>('SELECT card_token AS token, standing FROM card_standings WHERE card_token IN', [], needs.cardTokens);
    const online = this.inList<OnlineRecord & { key: string }>(
      'SELECT idempotency_key AS key, status, amount_minor AS amountMinor, currency, card_token AS cardToken FROM online_authorizations WHERE origin = ? AND idempotency_key IN',
      [batch.origin],
      needs.onlineKeys,
    );
    return {
      head,
      held: heldMap(held),
      originals: originalsMap(originals, reversals),
      keysPostedElsewhere: new Set(keys.map((k) => k.key)),
      standings: new Map(standings.map((s) => [s.token, s.standing as CardStanding])),
      onlineRecords: new Map(online.map(({ key, ...record }) => [key, record])),
      nowMs: context.nowMs,
      forwardDeadlineMs: context.forwardDeadlineMs,
    };
  }

  private inList<T>(sql: string, leading: readonly unknown[], values: readonly (string | number)[], tail = ''): T[] {
    if (values.length === 0) return [];
    // SQLite binds at most 32766 parameters; a batch is far smaller, but chunk anyway.
    const rows: T[] = [];
    for (let at = 0; at < values.length; at += 500) {
      const chunk = values.slice(at, at + 500);
      rows.push(...(this.db.prepare(`${sql} (${chunk.map(() => '?').join(', ')}) ${tail}`).all(...leading, ...chunk) as T[]));
    }
    return rows;
  }

  private apply(plan: Extract<Plan, { ok: true }>, nowMs: number): void {
    // Positional parameters: binding twenty named ones per row cost more than the insert itself.
    const insertEntry = this.db.prepare(
      `INSERT INTO ledger_entries (origin, seq, hash, store, kind, idempotency_key, ref_seq, amount_minor, currency, card_token, approved, mode, wall_ms,
         result, reason, merchant_minor, posted_account, sender, batch_id, ingested_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const r of plan.rows) {
      insertEntry.run(
        r.origin,
        r.seq,
        r.hash,
        r.store,
        r.kind,
        r.idempotencyKey,
        r.refSeq,
        r.amountMinor,
        r.currency,
        r.cardToken,
        r.approved ? 1 : 0,
        r.mode,
        r.wallMs,
        r.result,
        r.reason,
        r.merchantMinor,
        r.postedAccount,
        r.sender,
        r.batchId,
        nowMs,
      );
    }
    const insertPosting = this.db.prepare('INSERT INTO ledger_postings (origin, seq, leg, account, currency, amount_minor) VALUES (?, ?, ?, ?, ?, ?)');
    for (const transfer of plan.transfers) {
      transfer.postings.forEach((posting, leg) => insertPosting.run(transfer.origin, transfer.seq, leg, posting.account, transfer.currency, posting.amountMinor));
    }
    const addBalance = this.db.prepare(
      `INSERT INTO ledger_balances (account, currency, balance_minor) VALUES (?, ?, ?)
       ON CONFLICT (account) DO UPDATE SET balance_minor = balance_minor + excluded.balance_minor`,
    );
    for (const [account, delta] of balanceDeltas(plan)) addBalance.run(account, currencyOfAccount(account), delta);
    // An offline decision under a key the centre approved online: the node gave up waiting, so the
    // online approval is superseded (the reversal it sent may have been lost).
    const supersede = this.db.prepare("UPDATE online_authorizations SET status = 'reversed', updated_ms = ? WHERE origin = ? AND idempotency_key = ? AND status = 'approved'");
    for (const row of plan.rows) if (row.kind === 'authorization' && row.mode === 'offline') supersede.run(nowMs, row.origin, row.idempotencyKey);
    const origin = plan.rows[0]?.origin;
    if (origin !== undefined) {
      this.db.prepare('INSERT INTO ledger_heads (origin, seq, hash) VALUES (?, ?, ?) ON CONFLICT (origin) DO UPDATE SET seq = excluded.seq, hash = excluded.hash').run(origin, plan.head.seq, plan.head.hash);
    }
  }
}

function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) throw new Error(`the ledger's schema is version ${version}; this edgepay knows up to ${MIGRATIONS.length}: upgrade edgepay`);
    for (const step of MIGRATIONS.slice(version)) db.exec(step);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
