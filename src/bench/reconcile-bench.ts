import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Centre } from '../central/centre.js';
import type { LedgerBackend } from '../central/ledger-backend.js';
import { PostgresLedger } from '../central/postgres-ledger.js';
import { SqliteLedger } from '../central/sqlite-ledger.js';
import { Journal } from '../journal/journal.js';
import { JournalReader } from '../journal/journal-reader.js';
import { ownSignedReads } from '../reconcile/signed-reads.js';
import { Uplink } from '../reconcile/uplink.js';
import { generateNodeKeyPair } from '../wire/keys.js';
import { type PostgresServer, startPostgres } from '../rigs/database/postgres-server.js';
import { makeRunDir } from '../rigs/run-dir.js';
import { ratePerSecond, roundTo } from './latency.js';
import { type MachineInfo, machineInfo } from './machine.js';
import { fillBacklog } from './reconcile-fill.js';
import { DEFAULT_BACKLOG, DEFAULT_RECONCILE_BATCH, type LedgerKind } from './reconcile-options.js';
import { type RawInsertResult, rawPostgresInserts, rawSqliteInserts } from './reconcile-raw.js';
import { type VerificationCost, measureVerification } from './verification-cost.js';

export interface ReconcileBenchOptions {
  readonly backend: LedgerKind;
  readonly entries?: number;
  readonly batch?: number;
  /** An existing PostgreSQL server to measure instead of a throwaway one started for the run. */
  readonly postgresUrl?: string;
  readonly dir?: string;
  readonly keep?: boolean;
  readonly progress?: (line: string) => void;
}

export interface ReconcileBenchReport {
  readonly bench: 'reconcile';
  readonly backend: LedgerKind;
  readonly startedAt: string;
  readonly machine: MachineInfo;
  readonly parameters: { readonly entries: number; readonly batch: number; readonly rawSampleEntries: number; readonly postgres: 'throwaway server' | 'given url' | null };
  readonly backlog: { readonly fillSeconds: number; readonly entries: number };
  /** The limit: the same backend taking the rows reconciliation writes, with nothing read or decided. */
  readonly raw: RawInsertResult;
  /** The real path: journal read, batch totals, the centre's checks, plan and ledger transaction, outcomes written back to the journal. */
  readonly drain: {
    readonly entries: number;
    readonly batches: number;
    readonly seconds: number;
    readonly entriesPerSec: number;
    readonly settled: number;
    readonly exceptions: number;
    readonly recorded: number;
  };
  /** What the centre's checks of each batch (chain and origin signature) cost, measured apart in the same run. */
  readonly verification: VerificationCost;
  readonly ledgerChecks: { readonly unbalancedTransfers: number; readonly balanceMismatches: number; readonly totalsMatch: boolean; readonly unforwarded: number };
  readonly ratio: number;
  readonly targets: { readonly ratioMin: 0.3; readonly drainSecondsMax: 60 | null; readonly meetsTarget: boolean };
}

/**
 * Drains a backlog of journal entries through the real reconciliation path into the chosen
 * ledger backend, beside the backend's raw insert rate measured in the same run.
 */
export async function runReconcileBench(options: ReconcileBenchOptions): Promise<ReconcileBenchReport> {
  const entries = options.entries ?? DEFAULT_BACKLOG;
  const batch = options.batch ?? DEFAULT_RECONCILE_BATCH;
  const progress = options.progress ?? (() => undefined);
  const dir = makeRunDir(options.dir);
  const startedAt = new Date().toISOString();
  let server: PostgresServer | undefined;
  let serverDir: string | undefined;
  let backend: LedgerBackend | undefined;
  const journal = Journal.open({ path: join(dir.path, 'node', 'journal.db'), nodeId: 'bench-node' });
  const reader = new JournalReader(journal.path, 'bench-node');
  try {
    const machine = machineInfo(dir.path);
    progress(`writing a backlog of ${entries} journal entries`);
    const fillStarted = performance.now();
    fillBacklog(journal, entries, (written) => {
      if (written % 200_000 === 0) progress(`  ${written} written`);
    });
    const fillSeconds = roundTo((performance.now() - fillStarted) / 1000, 1);

    let url: string | undefined;
    if (options.backend === 'postgres') {
      url = options.postgresUrl;
      if (url === undefined) {
        progress('starting a throwaway PostgreSQL server');
        // Its own directory: the server may run as another user, who must be able to reach it.
        serverDir = mkdtempSync(join(options.dir ?? tmpdir(), 'edgepay-bench-postgres-'));
        server = await startPostgres({ dir: serverDir });
        url = server.url;
      }
    }
    // As many as the drain writes: inserts slow down as tables and indexes grow, for the limit as for the drain.
    const rawSample = entries;
    progress(`raw limit: ${rawSample} entries' rows in transactions of ${batch}`);
    const raw = url === undefined ? await rawSqliteInserts(join(dir.path, 'raw.db'), rawSample, batch) : await rawPostgresInserts(url, `raw_${Date.now()}`, rawSample, batch);
    progress(`  ${raw.entriesPerSec} entries/s`);

    backend = url === undefined ? SqliteLedger.open(join(dir.path, 'centre', 'ledger.db')) : await PostgresLedger.open({ url, schema: `ledger_${Date.now()}` });
    const keys = generateNodeKeyPair();
    const { node: registered } = await backend.registerNode({ nodeId: 'bench-node', store: 'store-1', publicKeyPem: keys.publicKeyPem }, Date.now());
    const centre = new Centre({ backend, forwardDeadlineHours: 24 * 30 });
    const uplink = new Uplink({
      origin: 'bench-node',
      store: 'store-1',
      journal: {
        headSeq: () => journal.chainHead().seq,
        read: ownSignedReads((from, limit) => reader.read(from, limit), keys.privateKey),
        firstUnforwardedSeq: () => reader.firstUnforwardedSeq(),
        record: async (outcomes) => journal.recordForwarded(outcomes),
      },
      centre: { send: (b) => centre.ingest(b) },
      batchSize: batch,
      onBatch: (p) => {
        if (Math.floor(p.forwardedThrough / 100_000) !== Math.floor((p.forwardedThrough - batch) / 100_000)) progress(`  forwarded through ${p.forwardedThrough}`);
      },
    });
    progress(`draining ${entries} entries in batches of ${batch} into ${options.backend}`);
    const drainStarted = performance.now();
    const drained = await uplink.drain();
    const drainMs = performance.now() - drainStarted;
    progress(`  ${roundTo(drainMs / 1000, 1)} s`);

    const verification = measureVerification(reader.read(1, batch), registered, keys.privateKey);
    progress(`  verification: ${verification.usPerEntry} µs per entry (signature ${verification.signatureUsPerBatch} µs per batch of ${verification.batchEntries})`);
    const invariants = await backend.checkInvariants();
    const [report] = await backend.originReports();
    const totals = reader.totals();
    const totalsMatch = report !== undefined && report.entries === totals.entries && JSON.stringify(sorted(report.sumsMinor)) === JSON.stringify(sorted(totals.sumsMinor));
    const entriesPerSec = ratePerSecond(drained.entriesSent, drainMs);
    const ratio = roundTo(entriesPerSec / raw.entriesPerSec, 3);
    const drainSecondsMax = options.backend === 'postgres' ? (60 as const) : null;
    const meetsTarget = ratio >= 0.3 && (drainSecondsMax === null || drainMs / 1000 < drainSecondsMax) && totalsMatch && invariants.unbalancedTransfers === 0 && invariants.balanceMismatches === 0;
    return {
      bench: 'reconcile',
      backend: options.backend,
      startedAt,
      machine,
      parameters: { entries, batch, rawSampleEntries: rawSample, postgres: options.backend === 'postgres' ? (options.postgresUrl === undefined ? 'throwaway server' : 'given url') : null },
      backlog: { fillSeconds, entries },
      raw,
      drain: {
        entries: drained.entriesSent,
        batches: drained.batches,
        seconds: roundTo(drainMs / 1000, 2),
        entriesPerSec,
        settled: drained.settled,
        exceptions: drained.exceptions,
        recorded: drained.recorded,
      },
      verification,
      ledgerChecks: { unbalancedTransfers: invariants.unbalancedTransfers, balanceMismatches: invariants.balanceMismatches, totalsMatch, unforwarded: totals.unforwarded },
      ratio,
      targets: { ratioMin: 0.3, drainSecondsMax, meetsTarget },
    };
  } finally {
    reader.close();
    journal.close();
    await backend?.close();
    await server?.stop();
    if (serverDir !== undefined && options.keep !== true) rmSync(serverDir, { recursive: true, force: true });
    dir.release(options.keep === true);
  }
}

function sorted(record: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}
