import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type ProvisionedNode, provisionNodeKeys } from '../../src/replication/provision.js';
import { type TestBroker, startBroker } from './brokers.js';
import { runCli } from './cli.js';

export interface CentreStore {
  readonly broker: TestBroker;
  /** The centre's configuration file (SQLite ledger beside it), checked with `centre check-config`. */
  readonly centreConfig: string;
  /** box-1's keys, registered at the centre for store-3. */
  readonly keys: ProvisionedNode[];
  /** The centre's answer key, public half: what the node pins. */
  readonly centreAnswerKey: string;
}

/**
 * Store store-3 of fleet-1 on a real Mosquitto, set up as an operator would: the centre's answer
 * key made with `centre keys create`, its configuration checked, and box-1's signing key
 * registered with `centre nodes add`. Passwords: box-1.pw and centre.pw in `dir`.
 */
export async function centreStoreOnMosquitto(dir: string, cleanups: (() => unknown)[], centreExtra: Record<string, unknown> = {}, extraUsers: Record<string, string> = {}): Promise<CentreStore> {
  const broker = await startBroker('mosquitto', dir, { 'box-1': 'pw-box-1', 'edgepay-centre': 'pw-centre', ...extraUsers }, { fleet: 'fleet-1', store: 'store-3' });
  cleanups.push(() => broker.stop());
  writeFileSync(join(dir, 'centre.pw'), 'pw-centre\n');
  writeFileSync(join(dir, 'box-1.pw'), 'pw-box-1\n');
  const centreConfig = join(dir, 'centre.json');
  expect(runCli(['centre', 'keys', 'create', '--out', join(dir, 'centre-keys')]).status).toBe(0);
  const config = { fleet: 'fleet-1', brokerUrl: broker.url, passwordFile: 'centre.pw', signingKeyFile: 'centre-keys/centre-signing.key', ledger: { sqliteFile: 'ledger.db' }, log: { level: 'info' }, ...centreExtra };
  writeFileSync(centreConfig, JSON.stringify(config));
  expect(runCli(['centre', 'check-config', centreConfig]).status).toBe(0);
  const keys = provisionNodeKeys(join(dir, 'keys'), ['box-1']);
  expect(runCli(['centre', 'nodes', 'add', '--config', centreConfig, '--node', 'box-1', '--store', 'store-3', '--public-key', keys[0]!.publicKeyFile]).status).toBe(0);
  return { broker, centreConfig, keys, centreAnswerKey: join(dir, 'centre-keys', 'centre-signing.pub') };
}
