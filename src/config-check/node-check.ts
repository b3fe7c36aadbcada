import { dirname, resolve } from 'node:path';
import { SEAL_PUBLIC_KEY_BYTES, TOKEN_KEY_BYTES } from '../card/keys.js';
import { type NodeConfig, checkNodeConfig } from '../config/node-config.js';
import { laneDevice, lanePortIn, sharedPorts } from '../config/lane-ports.js';
import { readConfigFile } from '../platform/config-file.js';
import { SEAL_KEY_HOLDS, TOKEN_KEY_HOLDS, checkApiTokenFile, checkBase64Key, checkPasswordFile, checkPublicKey, checkReaderProfile, checkRulesFile, checkSigningKey } from './file-checks.js';
import { Findings, type KeyNotes } from './findings.js';
import { checkApiSocket, checkDataDir, checkLanePort, checkPostgresUrlFile, checkSqliteLedger } from './place-checks.js';
import { type PathBase, checkKey, countAt, resolveFor, valueAt } from './raw-keys.js';
import { checkBrokerTlsFiles } from './tls-check.js';

/** A node's configuration as checked: the parsed configuration when its keys are valid, and everything found. */
export interface NodeConfigCheck {
  readonly config: NodeConfig | undefined;
  readonly findings: Findings;
}

/** Said wherever a node is checked or started with its token key in a plain file. */
export function plainTokenKeyWarning(tokenKeyFile: string): string {
  return (
    `is set: the card token key is read from the plain file ${tokenKeyFile}. ` +
    'Whoever reads that file can test card numbers against every token in the journals and replicas. For development only; ' +
    'in production seal the key with `edgepay node seal-token-key` and name it "credential:token.key"'
  );
}

/** Said for a lane that pins no reader key: what it gives up, and how to get it back. */
export const CLEAR_READER_WARNING =
  'is not set: the lane takes a 1.0 reader, whose card data (PAN and track 2) crosses its cable in clear and is tokenized on this box. ' +
  'Pin the key of a reader that speaks secure sessions (reader.pub of `edgepay keygen reader-signing`), and no card number reaches the box';

/** Reads a node's configuration file and checks it and every file it names (see checkNodeConfigData). */
export function checkNodeConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): NodeConfigCheck {
  return checkNodeConfigData(readConfigFile(file, 'node configuration'), dirname(resolve(file)), env);
}

/**
 * Every problem of a node's configuration at once: its keys, then each file it names, read as start
 * reads it and parsed as the kind it must be. Nothing is created, written or connected to.
 */
export function checkNodeConfigData(data: unknown, baseDir: string, env: NodeJS.ProcessEnv = process.env): NodeConfigCheck {
  const findings = new Findings();
  const parsed = checkNodeConfig(data, baseDir, env);
  if (!parsed.ok) findings.addProblems(parsed.problems);
  const base: PathBase = { baseDir, env };
  const path = (value: string, notes: KeyNotes) => resolveFor(value, base, notes);
  const file = (keyPath: string, check: (resolved: string, notes: KeyNotes) => void) => checkKey(findings, data, keyPath, check, path);

  // Said first: of the warnings, this one is about card data.
  if (valueAt(data, 'keys.plainTokenKeyFileForDevelopment') === true) {
    const tokenKeyFile = parsed.ok ? parsed.config.keys.tokenKeyFile : String(valueAt(data, 'keys.tokenKeyFile'));
    findings.at('keys.plainTokenKeyFileForDevelopment', undefined).warning(plainTokenKeyWarning(tokenKeyFile));
  }
  file('dataDir', checkDataDir);
  file('rulesFile', checkRulesFile);
  file('keys.tokenKeyFile', (f, n) => checkBase64Key(f, n, TOKEN_KEY_BYTES, TOKEN_KEY_HOLDS));
  file('keys.centrePublicKeyFile', (f, n) => checkBase64Key(f, n, SEAL_PUBLIC_KEY_BYTES, SEAL_KEY_HOLDS));
  file('api.tokenFile', (f, n) => checkApiTokenFile(f, n, env));
  file('api.socket', checkApiSocket);
  for (let i = 0; i < countAt(data, 'lanes'); i++) {
    // Resolved as the loader resolves it: relative to the file, a unix: socket keeping its prefix.
    checkKey(findings, data, `lanes.${i}.port`, checkLanePort, (value, notes) => {
      let unresolved = false;
      const port = lanePortIn(value, (p) => {
        const resolved = resolveFor(p, base, notes);
        if (resolved === undefined) unresolved = true;
        return resolved ?? p;
      });
      return unresolved ? undefined : port;
    });
    checkKey(
      findings,
      data,
      `lanes.${i}.profile`,
      (profile, notes) => checkReaderProfile(profile, notes),
      (value) => value,
    );
    if (valueAt(data, `lanes.${i}.readerPublicKey`) === undefined) findings.at(`lanes.${i}.readerPublicKey`, undefined).warning(CLEAR_READER_WARNING);
  }
  // Two names for one device (a by-id link and its target) show only once the links are followed.
  if (parsed.ok) {
    for (const shared of sharedPorts(parsed.config.lanes, laneDevice)) findings.at(`lanes.${shared.index}.port`, shared.port).problem(shared.message);
  }

  file('replication.signingKeyFile', (f, n) => checkSigningKey(f, n, "this node's"));
  file('replication.passwordFile', checkPasswordFile);
  file('replication.rulesPublicKeyFile', (f, n) => checkPublicKey(f, n, "the rules key's (`edgepay rules keygen`, rules.pub)"));
  for (let i = 0; i < countAt(data, 'replication.peers'); i++) {
    const peer = valueAt(data, `replication.peers.${i}.nodeId`);
    file(`replication.peers.${i}.publicKeyFile`, (f, n) => checkPublicKey(f, n, `peer ${typeof peer === 'string' ? JSON.stringify(peer) : i}'s`));
  }
  if (valueAt(data, 'replication') !== undefined) checkBrokerTlsFiles(findings, data, 'replication', base);

  file('centre.signingPublicKeyFile', (f, n) => checkPublicKey(f, n, "the centre's answer key's (centre-signing.pub)"));
  file('centre.ledger.sqliteFile', checkSqliteLedger);
  file('centre.ledger.postgresUrlFile', checkPostgresUrlFile);
  return { config: parsed.ok && findings.problems.length === 0 ? parsed.config : undefined, findings };
}
