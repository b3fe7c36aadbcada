import { readFileSync } from 'node:fs';
import { defaultRules, parseRules, type Rules } from '../authorize/index.js';
import { BadInputError, EdgepayError } from '../errors.js';
import { loadRulesPublicKey } from '../rules/keys.js';
import { distributedRulesPathOf, readDistributedRules } from '../rules/store.js';
import type { NodeConfig } from '../config/node-config.js';

/** The node's offline rules: its rules file when configured, the documented defaults otherwise. */
export function loadRules(rulesFile: string | undefined): Rules {
  if (rulesFile === undefined) return defaultRules();
  let text: string;
  try {
    text = readFileSync(rulesFile, 'utf8');
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_NOT_FOUND', `rulesFile: cannot read ${rulesFile}: ${(cause as Error).message}`, { file: rulesFile }, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new BadInputError(`rules file ${rulesFile}`, [{ path: '', message: `is not valid JSON: ${(cause as Error).message}` }]);
  }
  return parseRules(json);
}

export interface RulesInForce {
  readonly rules: Rules;
  readonly source: 'defaults' | 'rules file' | 'distributed';
  /** Why distributed rules on disk were not used (they did not verify, or the key is unreadable). */
  readonly problem?: string;
}

type RulesConfigPart = Pick<NodeConfig, 'rulesFile' | 'dataDir'> & {
  readonly replication?: { readonly fleet: string; readonly store: string; readonly rulesPublicKeyFile?: string };
};

/**
 * The rules a starting node decides with: the newer (by version) of its configured rules and the
 * last rules distributed to it, re-verified with the rules public key. Distributed rules that do
 * not verify are left aside with a problem to log, never fatal: the node must still boot and sell.
 */
export function loadRulesInForce(config: RulesConfigPart): RulesInForce {
  const configured: RulesInForce = { rules: loadRules(config.rulesFile), source: config.rulesFile === undefined ? 'defaults' : 'rules file' };
  const replication = config.replication;
  if (replication?.rulesPublicKeyFile === undefined) return configured;
  let stored: ReturnType<typeof readDistributedRules>;
  try {
    const key = loadRulesPublicKey(replication.rulesPublicKeyFile);
    stored = readDistributedRules(distributedRulesPathOf(config.dataDir), { fleet: replication.fleet, store: replication.store }, key);
  } catch (error) {
    return { ...configured, problem: (error as Error).message };
  }
  if (stored === undefined) return configured;
  if (!stored.ok) return { ...configured, problem: `${stored.reason}: ${stored.detail}` };
  return stored.rules.version > configured.rules.version ? { rules: stored.rules, source: 'distributed' } : configured;
}
