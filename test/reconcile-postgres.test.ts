import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { PostgresLedger } from '../src/central/postgres-ledger.js';
import { type PostgresServer, startPostgres } from '../src/testing/postgres-server.js';
import { commandArb, runReconcileModel } from './support/reconcile-model.js';
import { useTempDir } from './support/tmp.js';

/* The same model as against SQLite, against a real PostgreSQL server started for this file. */

const tempDir = useTempDir('edgepay-reconcile-pg-');
let server: PostgresServer;
let serverDir: string;
let runs = 0;

beforeAll(async () => {
  serverDir = mkdtempSync(join(tmpdir(), 'edgepay-pg-'));
  server = await startPostgres({ dir: serverDir });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  if (serverDir) rmSync(serverDir, { recursive: true, force: true });
});

describe('reconciliation against the PostgreSQL ledger (model-based)', () => {
  it('random journals, lossy and duplicating links, node and centre restarts: exactly once, balanced, totals equal', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 5, maxLength: 50 }), async (commands) => {
        // A schema per run: each run starts from an empty ledger; a centre restart reopens the same one.
        const schema = `run_${runs++}`;
        await runReconcileModel(tempDir(), commands, () => PostgresLedger.open({ url: server.url, schema }));
      }),
      { numRuns: 25 },
    );
  }, 180_000);
});
