import fc from 'fast-check';
import { describe, it } from 'vitest';
import { PostgresLedger } from '../src/central/postgres-ledger.js';
import { commandArb, runReconcileModel } from './support/reconcile-model.js';
import { usePostgresServer } from './support/postgres.js';
import { useTempDir } from './support/tmp.js';

/* The same model as against SQLite, against a real PostgreSQL server started for this file. */

const postgres = usePostgresServer();
const tempDir = useTempDir('edgepay-reconcile-pg-');
let runs = 0;

describe('reconciliation against the PostgreSQL ledger (model-based)', () => {
  it('random journals, lossy and duplicating links, node and centre restarts: exactly once, balanced, totals equal', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 5, maxLength: 50 }), async (commands) => {
        // A schema per run: each run starts from an empty ledger; a centre restart reopens the same one.
        const schema = `run_${runs++}`;
        await runReconcileModel(tempDir(), commands, () => PostgresLedger.open({ url: postgres().url, schema }));
      }),
      { numRuns: 25 },
    );
  }, 180_000);
});
