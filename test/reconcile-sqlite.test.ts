import { join } from 'node:path';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { commandArb, runReconcileModel } from './support/reconcile-model.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-reconcile-');

describe('reconciliation against the SQLite ledger (model-based)', () => {
  it('random journals, lossy and duplicating links, node and centre restarts: exactly once, balanced, totals equal', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 5, maxLength: 60 }), async (commands) => {
        const dir = tempDir();
        await runReconcileModel(dir, commands, async () => SqliteLedger.open(join(dir, 'centre.db')));
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
