import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { RulesConfig } from '../rules/schema.js';
import { generateSealKeyPair } from '../card/index.js';
import { parseNodeConfig } from '../config/node-config.js';
import { initNode } from '../app/init.js';
import { NodeRuntime } from '../app/runtime.js';
import { createMemoryCredentials } from '../platform/memory-credentials.js';
import { BENCH_CURRENCY } from './bench-rules.js';

export interface LaneNodeOptions {
  /** A fresh directory the node owns: keys, rules, journal. */
  readonly dir: string;
  readonly laneId: string;
  readonly port: string;
  readonly profile: string;
  /** A secure reader's keys, shared with it: the token key, the centre's seal key and the reader key the lane pins. */
  readonly secure?: { readonly tokenKey: Buffer; readonly centrePublicKey: Uint8Array; readonly readerPublicKey: string };
}

/**
 * Limits no run can reach, so every payment takes the whole rule chain to an approval and is
 * journalled: the path a store sees most, and the one this bench times.
 */
export const LANE_BENCH_RULES: RulesConfig = {
  version: 1,
  currencies: { [BENCH_CURRENCY]: { floorLimitMinor: 1_000_000 } },
  perCard: { windowMinutes: 24 * 60, maxCount: 1_000_000, maxAmountMinor: { [BENCH_CURRENCY]: 1_000_000_000_000 } },
  node: { maxStoredCount: 1_000_000_000, maxStoredAmountMinor: { [BENCH_CURRENCY]: 1_000_000_000_000_000 }, forwardDeadlineHours: 720 },
  hotCards: { version: 0, tokens: [] },
};

/** A node as a store runs one: its token key a credential, a rules file, the fsynced journal, the POS API on loopback. */
export async function startLaneNode(options: LaneNodeOptions): Promise<NodeRuntime> {
  mkdirSync(options.dir, { recursive: true });
  const centrePublicKey = options.secure?.centrePublicKey ?? (await generateSealKeyPair()).publicKey;
  // The key as production reads it, a credential, here in a memory directory gone with the process.
  const credentials = createMemoryCredentials({ 'token.key': (options.secure?.tokenKey ?? randomBytes(32)).toString('base64') });
  process.once('exit', () => credentials.remove());
  writeFileSync(join(options.dir, 'centre.pub'), Buffer.from(centrePublicKey).toString('base64'));
  writeFileSync(join(options.dir, 'rules.json'), JSON.stringify(LANE_BENCH_RULES));
  const config = parseNodeConfig(
    {
      nodeId: 'bench-lane',
      dataDir: 'data',
      rulesFile: 'rules.json',
      keys: { tokenKeyFile: 'credential:token.key', centrePublicKeyFile: 'centre.pub' },
      api: { host: '127.0.0.1', port: 0, tokenFile: 'api.token' },
      lanes: [{ id: options.laneId, port: options.port, profile: options.profile, ...(options.secure === undefined ? {} : { readerPublicKey: options.secure.readerPublicKey }) }],
      log: { level: 'silent' },
    },
    options.dir,
    { ...process.env, ...credentials.env },
  );
  // A fresh node, as an operator makes one before its first start (its journal and API token).
  initNode(config);
  let runtime: NodeRuntime;
  try {
    runtime = await NodeRuntime.start({ config, registry: new Registry() });
  } catch (error) {
    credentials.remove();
    throw error;
  }
  // Gone with the node: the key lives no longer than the run it was made for.
  void runtime.exited.then(
    () => credentials.remove(),
    () => credentials.remove(),
  );
  return runtime;
}
