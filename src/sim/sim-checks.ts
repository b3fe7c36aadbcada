import type { CheckResult } from '../audit/store-checks.js';
import type { SqliteLedger } from '../central/sqlite-ledger.js';
import type { RestoreTally } from './fault-injector.js';
import type { NetworkTally } from './network.js';
import type { SimNode } from './sim-node.js';

const REJECTIONS = ['malformed', 'unknown_key', 'bad_signature', 'bad_hash', 'wrong_topic'] as const;

/**
 * P8: whatever an intruder sends is rejected, counted and never stored. Honest messages are never
 * rejected, so the rejections counted must equal the forged deliveries examined, one for one; and
 * no node keeps a replica of a node outside the fleet.
 */
export function checkForgeries(nodes: readonly SimNode[], tally: NetworkTally, origins: ReadonlySet<string>): CheckResult {
  const rejected = nodes.reduce((sum, n) => sum + REJECTIONS.reduce((s, reason) => s + n.counters.get(reason), 0), 0);
  const strangers = [...origins].filter((o) => !nodes.some((n) => n.id === o));
  const ok = strangers.length === 0 && rejected === tally.injectedDelivered;
  return {
    check: 'only the fleet speaks: forged messages rejected, counted, never stored',
    ok,
    detail: `${tally.injected} forged messages, ${tally.injectedDelivered} deliveries, ${rejected} rejections counted${strangers.length > 0 ? `; replicas of ${strangers.join(', ')}` : ''}`,
  };
}

/** Every box whose disk died traded again, rebuilt by the runbook. */
export function checkRestores(restores: RestoreTally): CheckResult {
  return {
    check: 'every box whose disk died is back in service, from its backup and its peers',
    ok: restores.unfinished === 0,
    detail: `${restores.fromBackup} from a backup and the peers (${restores.entriesFromPeers} entries from the peers), ${restores.fromPeersOnly} from the peers alone; ${restores.unfinished} unfinished`,
  };
}

/** Every node up, and every journal whole at every peer and at the centre. */
export async function converged(nodes: readonly SimNode[], ledger: SqliteLedger): Promise<boolean> {
  for (const origin of nodes) {
    const head = origin.headSeq();
    if (head < 0 || (await ledger.headOf(origin.id)) < head) return false;
    if (nodes.some((holder) => holder !== origin && holder.replicaHead(origin.id) < head)) return false;
  }
  return true;
}
