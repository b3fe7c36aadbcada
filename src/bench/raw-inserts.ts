import Database from 'better-sqlite3';
import { join } from 'node:path';
import { INSERT_ENTRY_SQL } from '../journal/row.js';
import { migrate } from '../journal/schema.js';
import { LatencyRecorder, type LatencySummary, ratePerSecond, roundTo } from './latency.js';
import { sampleRow } from './sample-row.js';

export interface RawInsertOptions {
  readonly dir: string;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly rowsPerTransaction: number;
}

export interface RawInsertResult {
  readonly rowsPerTransaction: number;
  readonly transactions: number;
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSec: number;
  readonly transactionsPerSec: number;
  /** One sample per transaction, commit and fsync included. */
  readonly transactionLatency: LatencySummary;
}

/**
 * The best the journal's storage could do: the entries table with its real schema (the same
 * migration, so the same UNIQUE index and triggers), the same pragmas, prepared inserts of
 * journal-sized rows and nothing else: no hashing, no decisions, no lookups, no event loop.
 */
export function measureRawInserts(options: RawInsertOptions): RawInsertResult {
  const { rowsPerTransaction } = options;
  const path = join(options.dir, `raw-${rowsPerTransaction}.db`);
  const db = new Database(path);
  try {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`${path}: cannot enable WAL mode (got ${String(mode)})`);
    db.pragma('synchronous = FULL');
    migrate(db, path);
    const insert = db.prepare(INSERT_ENTRY_SQL);
    const keyPrefix = `raw${rowsPerTransaction}`;
    let seq = 0;
    const transaction = db.transaction(() => {
      for (let i = 0; i < rowsPerTransaction; i++) insert.run(sampleRow(++seq, keyPrefix));
    });

    const warmupEnd = performance.now() + options.warmupSeconds * 1000;
    while (performance.now() < warmupEnd) transaction();

    const latency = new LatencyRecorder();
    const start = performance.now();
    const deadline = start + options.seconds * 1000;
    let now = start;
    while (now < deadline) {
      transaction();
      const end = performance.now();
      latency.add(end - now);
      now = end;
    }
    const elapsedMs = now - start;
    const transactions = latency.count;
    return {
      rowsPerTransaction,
      transactions,
      rows: transactions * rowsPerTransaction,
      seconds: roundTo(elapsedMs / 1000, 3),
      rowsPerSec: ratePerSecond(transactions * rowsPerTransaction, elapsedMs),
      transactionsPerSec: ratePerSecond(transactions, elapsedMs),
      transactionLatency: latency.summary(),
    };
  } finally {
    db.close();
  }
}
