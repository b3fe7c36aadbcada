import { resolve } from 'node:path';

/*
 * Where a node keeps its files, apart from the configuration's schema: the journal writer's thread
 * needs the journal's path, and importing config.ts there would load the YAML parser and build the
 * whole configuration schema on the critical path of every start and restart.
 */

export function journalPathOf(config: { readonly dataDir: string }): string {
  return resolve(config.dataDir, 'journal.db');
}

/** The lanes' record of every payment a POS started: endings that no journal entry holds. */
export function paymentsPathOf(config: { readonly dataDir: string }): string {
  return resolve(config.dataDir, 'payments.db');
}
