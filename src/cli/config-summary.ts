import { X509Certificate } from 'node:crypto';
import { type Findings, checkCentreConfigData, checkNodeConfigData, requireUsable, warningLine } from '../config-check/index.js';
import { isTlsUrl, loadBrokerTls } from '../platform/broker-tls.js';

/*
 * What `config check`, `node check-config` and `centre check-config` print: every warning on stderr,
 * then one short "ok" line; or every problem at once (a BadInputError: exit 2, a line each).
 */

function printWarnings(findings: Findings): void {
  for (const warning of findings.warnings) process.stderr.write(`${warningLine(warning)}\n`);
}

const warned = (findings: Findings): string => (findings.warnings.length === 0 ? '' : ` (${findings.warnings.length} warning${findings.warnings.length === 1 ? '' : 's'} above)`);

/**
 * The configuration `node run` or `centre run` starts with, or the same list `check-config` prints
 * (warnings on stderr, then every problem: exit 2, no stack). Started, the warnings go to the log.
 */
export function configToStart<T>(check: { readonly config: T | undefined; readonly findings: Findings }, what: string): T {
  if (check.config === undefined || check.findings.problems.length > 0) printWarnings(check.findings);
  return requireUsable(check, what);
}

/** Checks a node's configuration (already read) and the files it names; the one-line summary. */
export function describeNodeConfig(file: string, data: unknown, baseDir: string, env: NodeJS.ProcessEnv): string {
  const check = checkNodeConfigData(data, baseDir, env);
  printWarnings(check.findings);
  const config = requireUsable(check, `node configuration ${file}`);
  const lanes = config.lanes.map((l) => `${l.id} (${l.profile} on ${l.port})`).join(', ') || 'none';
  const api = config.api === undefined ? 'off' : 'socket' in config.api ? config.api.socket : `${config.api.host}:${config.api.port}, bearer token in ${config.api.tokenFile}`;
  return `ok: node ${config.nodeId}, data in ${config.dataDir}; lanes: ${lanes}; POS API: ${api}${warned(check.findings)}`;
}

/** Checks a centre's configuration (already read) and the files it names, its ledger never opened; the one-line summary. */
export function describeCentreConfig(file: string, data: unknown, baseDir: string, env: NodeJS.ProcessEnv): string {
  const check = checkCentreConfigData(data, baseDir, env);
  printWarnings(check.findings);
  const config = requireUsable(check, `centre configuration ${file}`);
  // Checked already: read again only for the summary's certificate name.
  const tls = loadBrokerTls(config.brokerUrl, config, '', new Date(), env);
  const transport = !isTlsUrl(config.brokerUrl) ? ' (plain text)' : tls.ca === undefined ? ' (TLS, broker verified against the system CAs)' : ' (TLS, broker verified against caFile)';
  const identity = tls.cert === undefined ? '' : ` as ${new X509Certificate(tls.cert).subject.replace(/\n/g, ', ')}`;
  const ledger = 'sqliteFile' in config.ledger ? config.ledger.sqliteFile : `postgres (URL in ${config.ledger.postgresUrlFile}, not connected to)`;
  return `ok: centre of fleet ${config.fleet}, broker ${config.brokerUrl}${transport}${identity}, ledger ${ledger}${warned(check.findings)}`;
}
