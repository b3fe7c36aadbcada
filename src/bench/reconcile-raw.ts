import Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresLedger } from '../central/postgres-ledger.js';
import { SQLITE_LEDGER_PRAGMAS, SqliteLedger } from '../central/sqlite-ledger.js';
import { ratePerSecond, roundTo } from './latency.js';

export interface RawInsertResult {
  readonly entries: number;
  /** One ledger entry row and two postings per entry: what a settled sale writes. */
  readonly rowsPerEntry: number;
  readonly transactions: number;
  readonly seconds: number;
  readonly entriesPerSec: number;
}

const COLUMNS = 'origin, seq, hash, store, kind, idempotency_key, ref_seq, amount_minor, currency, card_token, approved, mode, wall_ms, result, reason, merchant_minor, posted_account, sender, batch_id, ingested_ms';
type RawRow = [string, number, string, string, string, string, null, number, string, string, number, string, number, string, null, number, string, string, string, number];

function rowOf(seq: number): RawRow {
  const amount = 500 + (seq % 9_500);
  return [
    'raw-node',
    seq,
    'f'.repeat(64),
    'store-1',
    'authorization',
    `bench-${seq}`,
    null,
    amount,
    'EUR',
    `tok-${seq % 20_011}`,
    1,
    'offline',
    0,
    'settled',
    null,
    amount,
    'card-clearing:EUR',
    'raw-node',
    `raw:${seq}`,
    0,
  ];
}

/**
 * The limit for what reconciliation writes: the ledger's own tables, with their indexes, in a
 * fresh ledger, taking one entry row and two postings per entry in transactions of the batch
 * size, with nothing read and nothing decided. The drain is compared with this, measured on the
 * same database in the same run.
 */
export async function rawSqliteInserts(path: string, entries: number, batch: number): Promise<RawInsertResult> {
  await SqliteLedger.open(path).close();
  const db = new Database(path);
  try {
    for (const pragma of SQLITE_LEDGER_PRAGMAS) db.pragma(pragma);
    const entry = db.prepare(
      `INSERT INTO ledger_entries (${COLUMNS}) VALUES (${COLUMNS.split(', ')
        .map(() => '?')
        .join(', ')})`,
    );
    const posting = db.prepare('INSERT INTO ledger_postings (origin, seq, leg, account, currency, amount_minor) VALUES (?, ?, ?, ?, ?, ?)');
    const started = performance.now();
    let transactions = 0;
    for (let from = 1; from <= entries; from += batch) {
      const to = Math.min(entries, from + batch - 1);
      db.transaction(() => {
        for (let seq = from; seq <= to; seq++) {
          const row = rowOf(seq);
          entry.run(...row);
          posting.run('raw-node', seq, 0, 'card-clearing:EUR', 'EUR', row[7]);
          posting.run('raw-node', seq, 1, 'merchant:store-1:EUR', 'EUR', -row[7]);
        }
      })();
      transactions++;
    }
    return result(entries, transactions, performance.now() - started);
  } finally {
    db.close();
  }
}

export async function rawPostgresInserts(url: string, schema: string, entries: number, batch: number): Promise<RawInsertResult> {
  await (await PostgresLedger.open({ url, schema })).close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`SET search_path = ${schema}`);
    const types = ['text', 'bigint', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'text', 'text', 'smallint', 'text', 'bigint', 'text', 'text', 'bigint', 'text', 'text', 'text', 'bigint'];
    const started = performance.now();
    let transactions = 0;
    for (let from = 1; from <= entries; from += batch) {
      const rows: RawRow[] = [];
      for (let seq = from; seq <= Math.min(entries, from + batch - 1); seq++) rows.push(rowOf(seq));
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO ledger_entries (${COLUMNS}) SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`,
        types.map((_, i) => rows.map((r) => r[i])),
      );
      const seqs = rows.flatMap((r) => [r[1], r[1]]);
      await client.query('INSERT INTO ledger_postings (origin, seq, leg, account, currency, amount_minor) SELECT * FROM unnest($1::text[], $2::bigint[], $3::smallint[], $4::text[], $5::text[], $6::bigint[])', [
        seqs.map(() => 'raw-node'),
        seqs,
        rows.flatMap(() => [0, 1]),
        rows.flatMap(() => ['card-clearing:EUR', 'merchant:store-1:EUR']),
        seqs.map(() => 'EUR'),
        rows.flatMap((r) => [r[7], -r[7]]),
      ]);
      await client.query('COMMIT');
      transactions++;
    }
    return result(entries, transactions, performance.now() - started);
  } finally {
    await client.end();
  }
}

function result(entries: number, transactions: number, elapsedMs: number): RawInsertResult {
  return { entries, rowsPerEntry: 3, transactions, seconds: roundTo(elapsedMs / 1000, 2), entriesPerSec: ratePerSecond(entries, elapsedMs) };
}
