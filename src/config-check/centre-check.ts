import { dirname, resolve } from 'node:path';
import { type CentreConfig, checkCentreConfig } from '../central/centre-config.js';
import { readConfigFile } from '../platform/config-file.js';
import { checkPasswordFile, checkSigningKey } from './file-checks.js';
import { Findings, type KeyNotes } from './findings.js';
import { checkPostgresUrlFile, checkSqliteLedger } from './place-checks.js';
import { type PathBase, checkKey, resolveFor } from './raw-keys.js';
import { checkBrokerTlsFiles } from './tls-check.js';

/** A centre's configuration as checked: the parsed configuration when it can be used, and everything found. */
export interface CentreConfigCheck {
  readonly config: CentreConfig | undefined;
  readonly findings: Findings;
}

/** Reads a centre's configuration file and checks it and every file it names (see checkCentreConfigData). */
export function checkCentreConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): CentreConfigCheck {
  return checkCentreConfigData(readConfigFile(file, 'centre configuration'), dirname(resolve(file)), env);
}

/**
 * Every problem of a centre's configuration at once. The ledger is looked at, never opened: an
 * SQLite file is not created or migrated, PostgreSQL is not connected to (a check that made the
 * ledger's tables would change the database it was asked about).
 */
export function checkCentreConfigData(data: unknown, baseDir: string, env: NodeJS.ProcessEnv = process.env): CentreConfigCheck {
  const findings = new Findings();
  const parsed = checkCentreConfig(data, baseDir, env);
  if (!parsed.ok) findings.addProblems(parsed.problems);
  const base: PathBase = { baseDir, env };
  const file = (keyPath: string, check: (resolved: string, notes: KeyNotes) => void) => checkKey(findings, data, keyPath, check, (value, notes) => resolveFor(value, base, notes));
  file('passwordFile', checkPasswordFile);
  checkBrokerTlsFiles(findings, data, '', base);
  file('signingKeyFile', (f, n) => checkSigningKey(f, n, "the centre's"));
  file('ledger.sqliteFile', checkSqliteLedger);
  file('ledger.postgresUrlFile', checkPostgresUrlFile);
  return { config: parsed.ok && findings.problems.length === 0 ? parsed.config : undefined, findings };
}
