import pg from 'pg';
import { GENESIS_HASH } from '../journal/entry.js';
import { currencyOfAccount } from './accounts.js';
import type { ForwardBatch } from './batch.js';
import { type HeldRow, type OriginalRow, type ReversalRow, balanceDeltas, batchNeeds, heldMap, originalsMap } from './batch-needs.js';
import type { ExceptionRow, HeldEntry, IngestContext, InvariantReport, LedgerBackend, OriginReport } from './ledger-backend.js';
import { type OnlineDecision, type OnlineRequest, type OnlineStatus, repeatedDecision } from './online.js';
import type { CardStanding, LedgerView, OnlineRecord, Plan } from './plan.js';
import { type NodeRegistration, type RegisteredNode, registrationChange } from './node-registry.js';
import { nodeExists, nodeNotRegistered } from './registry-errors.js';
import { readOriginReports } from './reports.js';

const BASE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ledger_heads (
    origin TEXT PRIMARY KEY,
    seq    BIGINT NOT NULL,
    hash   TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS ledger_entries (
    origin          TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    hash            TEXT NOT NULL,
    store           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    ref_seq         BIGINT,
    amount_minor    BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency        TEXT NOT NULL,
    card_token      TEXT NOT NULL,
    approved        SMALLINT NOT NULL,
    mode            TEXT NOT NULL,
    wall_ms         BIGINT NOT NULL,
    result          TEXT NOT NULL CHECK (result IN ('settled', 'exception', 'recorded')),
    reason          TEXT,
    merchant_minor  BIGINT NOT NULL,
    posted_account  TEXT,
    sender          TEXT NOT NULL,
    batch_id        TEXT NOT NULL,
    ingested_ms     BIGINT NOT NULL,
    PRIMARY KEY (origin, seq)
  );
  CREATE INDEX IF NOT EXISTS ledger_entries_by_ref ON ledger_entries (origin, ref_seq) WHERE ref_seq IS NOT NULL;
  CREATE UNIQUE INDEX IF NOT EXISTS ledger_sales_once ON ledger_entries (store, idempotency_key)
    WHERE kind = 'authorization' AND posted_account IS NOT NULL;
  CREATE INDEX IF NOT EXISTS ledger_exceptions ON ledger_entries (result) WHERE result = 'exception';
  CREATE TABLE IF NOT EXISTS ledger_postings (
    origin       TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    leg          SMALLINT NOT NULL,
    account      TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (origin, seq, leg)
  );
  CREATE TABLE IF NOT EXISTS ledger_balances (
    account       TEXT PRIMARY KEY,
    currency      TEXT NOT NULL,
    balance_minor BIGINT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS online_authorizations (
    origin          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('approved', 'declined', 'reversed')),
    code            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    amount_minor    BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    card_token      TEXT NOT NULL,
    updated_ms      BIGINT NOT NULL,
    PRIMARY KEY (origin, idempotency_key)
  );
  CREATE TABLE IF NOT EXISTS card_standings (
    card_token TEXT PRIMARY KEY,
    standing   TEXT NOT NULL CHECK (standing IN ('hot_listed', 'insufficient_funds'))
  );
`;

const NODE_REGISTRY = `
  CREATE TABLE centre_nodes (
    node_id        TEXT PRIMARY KEY,
    store          TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    added_ms       BIGINT NOT NULL,
    revoked_ms     BIGINT
  );
`;

/** Schema versions, applied in order and recorded in ledger_schema; the first is idempotent (ledgers older than versioning hold it). */
const MIGRATIONS = [BASE_SCHEMA, NODE_REGISTRY] as const;

type NodeRow = { node_id: string; store: string; public_key_pem: string; added_ms: string; revoked_ms: string | null };

function nodeOf(row: NodeRow): RegisteredNode {
  return { nodeId: row.node_id, store: row.store, publicKeyPem: row.public_key_pem, addedMs: Number(row.added_ms), revokedMs: row.revoked_ms === null ? null : Number(row.revoked_ms) };
}

export interface PostgresLedgerOptions {
  /** postgres://user@host:port/database */
  readonly url: string;
  /** A schema of its own (created if missing): several ledgers can share one database, e.g. in tests. */
  readonly schema?: string;
  readonly poolSize?: number;
}

/**
 * The production ledger on PostgreSQL. A batch is one transaction that first locks its origin's
 * head row (SELECT … FOR UPDATE), so several centre processes can ingest from one shared
 * subscription: batches of one origin serialize, different origins proceed in parallel, and the
 * unique index on (store, idempotency key) catches the one race the lock does not cover.
 * Rows go in with one statement per table per batch (unnest over arrays), not one per entry.
 */
export class PostgresLedger implements LedgerBackend {
  readonly kind = 'postgres' as const;

  private constructor(private readonly pool: pg.Pool) {}

  static async open(options: PostgresLedgerOptions): Promise<PostgresLedger> {
    const schema = options.schema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new Error(`schema: must be a lower-case SQL identifier, got ${JSON.stringify(schema)}`);
    }
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 4,
      ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
    });
    // An idle connection whose server went away (restart, failover) reports here; the pool drops it
    // and the next transaction connects afresh. Unheard, the event would end the process.
    pool.on('error', () => undefined);
    try {
      if (schema !== undefined) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await migrate(pool);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresLedger(pool);
  }

  async ingest(batch: ForwardBatch, plan: (view: LedgerView) => Plan, context: IngestContext): Promise<Plan> {
    return this.transaction(async (client) => {
      const view = await this.readView(client, batch, context);
      const planned = plan(view);
      if (planned.ok) await this.apply(client, planned, context.nowMs);
      return planned;
    });
  }

  /**
   * One transaction on one pooled connection. A connection that failed under it (the server was
   * killed) is given back broken, so the pool closes it instead of lending it out again.
   */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // The query in progress rejects; the connection also reports the loss as an event.
    const onError = (): void => undefined;
    client.on('error', onError);
    let failure: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', onError);
      client.release(failure);
    }
  }

  async registerNode(registration: NodeRegistration, nowMs: number): Promise<{ node: RegisteredNode; changed: boolean }> {
    return this.transaction(async (client) => {
      const held = (await client.query<NodeRow>('SELECT * FROM centre_nodes WHERE node_id = $1 FOR UPDATE', [registration.nodeId])).rows[0];
      const change = registrationChange(held === undefined ? undefined : nodeOf(held), registration);
      if (typeof change === 'object') throw nodeExists(registration.nodeId, change.conflict);
      if (change === 'unchanged') return { node: nodeOf(held!), changed: false };
      await client.query(
        `INSERT INTO centre_nodes (node_id, store, public_key_pem, added_ms, revoked_ms) VALUES ($1, $2, $3, $4, NULL)
         ON CONFLICT (node_id) DO UPDATE SET store = excluded.store, public_key_pem = excluded.public_key_pem, added_ms = excluded.added_ms, revoked_ms = NULL`,
        [registration.nodeId, registration.store, registration.publicKeyPem, nowMs],
      );
      return { node: { ...registration, addedMs: nowMs, revokedMs: null }, changed: true };
    });
  }

  async revokeNode(nodeId: string, nowMs: number): Promise<RegisteredNode> {
    const { rows } = await this.pool.query<NodeRow>('UPDATE centre_nodes SET revoked_ms = coalesce(revoked_ms, $2) WHERE node_id = $1 RETURNING *', [nodeId, nowMs]);
    if (rows[0] === undefined) throw nodeNotRegistered(nodeId);
    return nodeOf(rows[0]);
  }

  async registeredNode(nodeId: string): Promise<RegisteredNode | undefined> {
    const row = (await this.pool.query<NodeRow>('SELECT * FROM centre_nodes WHERE node_id = $1', [nodeId])).rows[0];
    return row === undefined ? undefined : nodeOf(row);
  }

  async registeredNodes(): Promise<RegisteredNode[]> {
    return (await this.pool.query<NodeRow>('SELECT * FROM centre_nodes ORDER BY store, node_id')).rows.map(nodeOf);
  }

  async setCardStanding(cardToken: string, standing: CardStanding | null): Promise<void> {
    if (standing === null) await this.pool.query('DELETE FROM card_standings WHERE card_token = $1', [cardToken]);
    else await this.pool.query('INSERT INTO card_standings (card_token, standing) VALUES ($1, $2) ON CONFLICT (card_token) DO UPDATE SET standing = excluded.standing', [cardToken, standing]);
  }

  async authorizeOnline(request: OnlineRequest, decide: (standing: CardStanding | undefined) => OnlineDecision, nowMs: number): Promise<OnlineDecision> {
    return this.transaction(async (client) => {
      // A placeholder row first: a concurrent repeat of the same request waits on it, then reads the answer.
      const inserted = await client.query(
        `INSERT INTO online_authorizations (origin, idempotency_key, status, code, reason, amount_minor, currency, card_token, updated_ms)
         VALUES ($1, $2, 'declined', '', '', $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [request.origin, request.idempotencyKey, request.amountMinor, request.currency, request.cardToken, nowMs],
      );
      let decision: OnlineDecision;
      if (inserted.rowCount === 1) {
        const standing = (await client.query<{ standing: CardStanding }>('SELECT standing FROM card_standings WHERE card_token = $1', [request.cardToken])).rows[0]?.standing;
        decision = decide(standing);
        await client.query('UPDATE online_authorizations SET status = $3, code = $4, reason = $5 WHERE origin = $1 AND idempotency_key = $2', [
          request.origin,
          request.idempotencyKey,
          decision.approved ? 'approved' : 'declined',
          decision.code,
          decision.reason,
        ]);
      } else {
        const known = (
          await client.query<{ status: OnlineStatus; code: string; reason: string; amount_minor: string; currency: string; card_token: string }>(
            'SELECT status, code, reason, amount_minor, currency, card_token FROM online_authorizations WHERE origin = $1 AND idempotency_key = $2',
            [request.origin, request.idempotencyKey],
          )
        ).rows[0]!;
        decision = repeatedDecision({ status: known.status, code: known.code, reason: known.reason, amountMinor: Number(known.amount_minor), currency: known.currency, cardToken: known.card_token }, request);
      }
      return decision;
    });
  }

  async reverseOnline(origin: string, idempotencyKey: string, nowMs: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO online_authorizations (origin, idempotency_key, status, code, reason, amount_minor, currency, card_token, updated_ms)
       VALUES ($1, $2, 'reversed', '', 'reversed before its request arrived', 0, '', '', $3)
       ON CONFLICT (origin, idempotency_key) DO UPDATE SET status = 'reversed', updated_ms = excluded.updated_ms`,
      [origin, idempotencyKey, nowMs],
    );
  }

  async onlineStatus(origin: string, idempotencyKey: string): Promise<OnlineStatus | undefined> {
    return (await this.pool.query<{ status: OnlineStatus }>('SELECT status FROM online_authorizations WHERE origin = $1 AND idempotency_key = $2', [origin, idempotencyKey])).rows[0]?.status;
  }

  async hotListedTokens(): Promise<string[]> {
    const { rows } = await this.pool.query<{ card_token: string }>("SELECT card_token FROM card_standings WHERE standing = 'hot_listed' ORDER BY card_token");
    return rows.map((r) => r.card_token);
  }

  async headOf(origin: string): Promise<number> {
    const { rows } = await this.pool.query<{ seq: string }>('SELECT seq FROM ledger_heads WHERE origin = $1', [origin]);
    return rows[0] === undefined ? 0 : Number(rows[0].seq);
  }

  async originReports(): Promise<OriginReport[]> {
    return readOriginReports(async (sql) => (await this.pool.query(sql)).rows as Record<string, unknown>[]);
  }

  async originReport(origin: string): Promise<OriginReport | undefined> {
    const [report] = await readOriginReports(async (sql) => (await this.pool.query(sql, [origin])).rows as Record<string, unknown>[], '$1');
    return report;
  }

  async exceptions(limit = 1_000): Promise<ExceptionRow[]> {
    const { rows } = await this.pool.query<Record<string, string>>(
      `SELECT origin, seq, store, idempotency_key, amount_minor, currency, reason, wall_ms FROM ledger_entries
       WHERE result = 'exception' ORDER BY origin, seq LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({
      origin: r.origin!,
      seq: Number(r.seq),
      store: r.store!,
      idempotencyKey: r.idempotency_key!,
      amountMinor: Number(r.amount_minor),
      currency: r.currency!,
      reason: r.reason!,
      wallMs: Number(r.wall_ms),
    }));
  }

  async heldEntries(origin: string, fromSeq: number, limit: number): Promise<HeldEntry[]> {
    const { rows } = await this.pool.query<{ seq: string; hash: string; result: HeldEntry['result']; reason: string | null }>(
      'SELECT seq, hash, result, reason FROM ledger_entries WHERE origin = $1 AND seq >= $2 ORDER BY seq LIMIT $3',
      [origin, fromSeq, limit],
    );
    return rows.map((r) => ({ seq: Number(r.seq), hash: r.hash, result: r.result, reason: r.reason }));
  }

  async sendersOf(origin: string): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<{ sender: string; n: string }>('SELECT sender, count(*) AS n FROM ledger_entries WHERE origin = $1 GROUP BY sender', [origin]);
    return Object.fromEntries(rows.map((r) => [r.sender, Number(r.n)]));
  }

  async checkInvariants(): Promise<InvariantReport> {
    const one = async (sql: string): Promise<number> => Number((await this.pool.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
    const balances = (await this.pool.query<{ account: string; balance_minor: string }>('SELECT account, balance_minor FROM ledger_balances ORDER BY account')).rows;
    return {
      unbalancedTransfers: await one('SELECT count(*) AS n FROM (SELECT 1 FROM ledger_postings GROUP BY origin, seq HAVING sum(amount_minor) <> 0) t'),
      balanceMismatches: await one(
        `SELECT count(*) AS n FROM ledger_balances b
         FULL JOIN (SELECT account, sum(amount_minor) AS total FROM ledger_postings GROUP BY account) p ON p.account = b.account
         WHERE coalesce(b.balance_minor, 0) <> coalesce(p.total, 0) OR b.account IS NULL`,
      ),
      transfers: await one('SELECT count(*) AS n FROM (SELECT 1 FROM ledger_postings GROUP BY origin, seq) t'),
      postings: await one('SELECT count(*) AS n FROM ledger_postings'),
      balances: Object.fromEntries(balances.map((b) => [b.account, Number(b.balance_minor)])),
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async readView(client: pg.PoolClient, batch: ForwardBatch, context: IngestContext): Promise<LedgerView> {
    // The head row is the origin's lock: created if missing, then held until COMMIT.
    await client.query('INSERT INTO ledger_heads (origin, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (origin) DO NOTHING', [batch.origin, GENESIS_HASH]);
    const headRow = (await client.query<{ seq: string; hash: string }>('SELECT seq, hash FROM ledger_heads WHERE origin = $1 FOR UPDATE', [batch.origin])).rows[0];
    const head = { seq: Number(headRow?.seq ?? 0), hash: headRow?.hash ?? GENESIS_HASH };
    const needs = batchNeeds(batch, head.seq);
    const held =
      needs.heldTo >= needs.heldFrom
        ? (
            await client.query<{ seq: string; hash: string; result: HeldRow['result']; reason: string | null; merchant_minor: string }>(
              'SELECT seq, hash, result, reason, merchant_minor FROM ledger_entries WHERE origin = $1 AND seq BETWEEN $2 AND $3',
              [batch.origin, needs.heldFrom, needs.heldTo],
            )
          ).rows.map((r): HeldRow => ({ seq: Number(r.seq), hash: r.hash, result: r.result, reason: r.reason, merchantMinor: Number(r.merchant_minor) }))
        : [];
    let originals: OriginalRow[] = [];
    let reversals: ReversalRow[] = [];
    if (needs.refSeqs.length > 0) {
      originals = (
        await client.query<{ seq: string; kind: OriginalRow['kind']; amount_minor: string; currency: string; posted_account: string | null }>(
          `SELECT e.seq, e.kind, e.amount_minor, e.currency, e.posted_account FROM unnest($2::bigint[]) AS r(seq)
           CROSS JOIN LATERAL (SELECT * FROM ledger_entries x WHERE x.origin = $1 AND x.seq = r.seq LIMIT 1) e`,
          [batch.origin, needs.refSeqs],
        )
      ).rows.map((r) => ({ seq: Number(r.seq), kind: r.kind, amountMinor: Number(r.amount_minor), currency: r.currency, postedAccount: r.posted_account }));
      reversals = (
        await client.query<{ ref_seq: string; reversed: string; voided: boolean }>(
          `SELECT r.seq AS ref_seq, -sum(f.merchant_minor) AS reversed, bool_or(f.kind = 'void') AS voided FROM unnest($2::bigint[]) AS r(seq)
           CROSS JOIN LATERAL (SELECT merchant_minor, kind FROM ledger_entries x WHERE x.origin = $1 AND x.ref_seq = r.seq AND x.result = 'settled' OFFSET 0) f
           GROUP BY r.seq`,
          [batch.origin, needs.refSeqs],
        )
      ).rows.map((r) => ({ refSeq: Number(r.ref_seq), reversedMinor: Number(r.reversed), voided: r.voided }));
    }
    const keys =
      needs.approvalKeys.length === 0
        ? []
        : (
            await client.query<{ key: string }>(
              // One index probe per key, whatever the statistics say: with a freshly filled table and no
              // ANALYZE yet, PostgreSQL otherwise scans every sale of the store for each batch. The
              // LIMIT (and OFFSET 0 above) keep the planner from flattening the probe into a join.
              `SELECT e.idempotency_key AS key FROM unnest($3::text[]) AS k(key)
               CROSS JOIN LATERAL (SELECT x.idempotency_key FROM ledger_entries x
                 WHERE x.store = $1 AND x.idempotency_key = k.key AND x.kind = 'authorization' AND x.posted_account IS NOT NULL AND x.origin <> $2 LIMIT 1) e`,
              [batch.store, batch.origin, needs.approvalKeys],
            )
          ).rows;
    const standings =
      needs.cardTokens.length === 0
        ? []
        : (
            await client.query<{ card_token: string; standing: CardStanding }>(
              `SELECT s.card_token, s.standing FROM unnest($1::text[]) AS t(token)
               CROSS JOIN LATERAL (SELECT x.card_token, x.standing FROM card_standings x WHERE x.card_token = t.token LIMIT 1) s`,
              [needs.cardTokens],
            )
          ).rows;
    const online =
      needs.onlineKeys.length === 0
        ? []
        : (
            await client.query<{ key: string; status: OnlineRecord['status']; amount_minor: string; currency: string; card_token: string }>(
              `SELECT o.idempotency_key AS key, o.status, o.amount_minor, o.currency, o.card_token FROM unnest($2::text[]) AS k(key)
               CROSS JOIN LATERAL (SELECT * FROM online_authorizations x WHERE x.origin = $1 AND x.idempotency_key = k.key LIMIT 1) o`,
              [batch.origin, needs.onlineKeys],
            )
          ).rows;
    return {
      head,
      held: heldMap(held),
      originals: originalsMap(originals, reversals),
      keysPostedElsewhere: new Set(keys.map((k) => k.key)),
      standings: new Map(standings.map((s) => [s.card_token, s.standing])),
      onlineRecords: new Map(online.map((o) => [o.key, { status: o.status, amountMinor: Number(o.amount_minor), currency: o.currency, cardToken: o.card_token }])),
      nowMs: context.nowMs,
      forwardDeadlineMs: context.forwardDeadlineMs,
    };
  }

  private async apply(client: pg.PoolClient, plan: Extract<Plan, { ok: true }>, nowMs: number): Promise<void> {
    if (plan.rows.length > 0) {
      const column = (pick: (row: Extract<Plan, { ok: true }>['rows'][number]) => unknown): unknown[] => plan.rows.map(pick);
      await client.query(
        `INSERT INTO ledger_entries (origin, seq, hash, store, kind, idempotency_key, ref_seq, amount_minor, currency, card_token, approved, mode, wall_ms,
           result, reason, merchant_minor, posted_account, sender, batch_id, ingested_ms)
         SELECT o, s, h, st, k, ik, rs, am, cu, ct, ap, mo, wm, re, rn, mm, pa, se, bi, $20
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[], $10::text[],
                     $11::smallint[], $12::text[], $13::bigint[], $14::text[], $15::text[], $16::bigint[], $17::text[], $18::text[], $19::text[])
           AS t(o, s, h, st, k, ik, rs, am, cu, ct, ap, mo, wm, re, rn, mm, pa, se, bi)`,
        [
          column((r) => r.origin),
          column((r) => r.seq),
          column((r) => r.hash),
          column((r) => r.store),
          column((r) => r.kind),
          column((r) => r.idempotencyKey),
          column((r) => r.refSeq),
          column((r) => r.amountMinor),
          column((r) => r.currency),
          column((r) => r.cardToken),
          column((r) => (r.approved ? 1 : 0)),
          column((r) => r.mode),
          column((r) => r.wallMs),
          column((r) => r.result),
          column((r) => r.reason),
          column((r) => r.merchantMinor),
          column((r) => r.postedAccount),
          column((r) => r.sender),
          column((r) => r.batchId),
          nowMs,
        ],
      );
    }
    if (plan.transfers.length > 0) {
      const legs = plan.transfers.flatMap((t) => t.postings.map((p, leg) => ({ origin: t.origin, seq: t.seq, leg, account: p.account, currency: t.currency, amount: p.amountMinor })));
      await client.query(
        `INSERT INTO ledger_postings (origin, seq, leg, account, currency, amount_minor)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::smallint[], $4::text[], $5::text[], $6::bigint[])`,
        [legs.map((l) => l.origin), legs.map((l) => l.seq), legs.map((l) => l.leg), legs.map((l) => l.account), legs.map((l) => l.currency), legs.map((l) => l.amount)],
      );
      // Sorted, so two batches touching the same accounts lock them in the same order and cannot deadlock.
      const deltas = [...balanceDeltas(plan)].sort(([a], [b]) => a.localeCompare(b));
      await client.query(
        `INSERT INTO ledger_balances (account, currency, balance_minor)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
         ON CONFLICT (account) DO UPDATE SET balance_minor = ledger_balances.balance_minor + excluded.balance_minor`,
        [deltas.map(([a]) => a), deltas.map(([a]) => currencyOfAccount(a)), deltas.map(([, d]) => d)],
      );
    }
    const offlineKeys = plan.rows.filter((r) => r.kind === 'authorization' && r.mode === 'offline').map((r) => r.idempotencyKey);
    if (offlineKeys.length > 0) {
      // An offline decision under a key the centre approved online supersedes that approval (see the SQLite ledger).
      await client.query(
        `UPDATE online_authorizations o SET status = 'reversed', updated_ms = $3 FROM unnest($2::text[]) AS k(key)
         WHERE o.origin = $1 AND o.idempotency_key = k.key AND o.status = 'approved'`,
        [plan.rows[0]!.origin, offlineKeys, nowMs],
      );
    }
    if (plan.rows.length > 0) await client.query('UPDATE ledger_heads SET seq = $2, hash = $3 WHERE origin = $1', [plan.rows[0]!.origin, plan.head.seq, plan.head.hash]);
  }
}

/**
 * Brings the schema (the pool's search_path) to the latest version. Centre processes starting
 * together serialize on an advisory lock held to the end of the migrating transaction.
 */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('edgepay-ledger-schema'))");
    await client.query('CREATE TABLE IF NOT EXISTS ledger_schema (version INTEGER NOT NULL)');
    const version = (await client.query<{ version: number }>('SELECT version FROM ledger_schema')).rows[0]?.version ?? 0;
    if (version > MIGRATIONS.length) throw new Error(`the ledger's schema is version ${version}; this edgepay knows up to ${MIGRATIONS.length}: upgrade edgepay`);
    for (const step of MIGRATIONS.slice(version)) await client.query(step);
    await client.query('DELETE FROM ledger_schema');
    await client.query('INSERT INTO ledger_schema (version) VALUES ($1)', [MIGRATIONS.length]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
