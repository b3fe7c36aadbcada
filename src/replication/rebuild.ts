import { type KeyObject, createPublicKey } from 'node:crypto';
import type { ReplicationConfig } from './config.js';
import { ReplicationError } from './errors.js';
import { loadKeyRing, loadSigningKey } from './keys.js';
import { type ReplicationLog, silentLog } from './log.js';
import { RebuildCollector } from './rebuild-collector.js';
import { claimJournalPath, installRebuilt, openCheck } from './rebuild-journal.js';
import { closeRebuildLink, openRebuildLink, subscribeAll } from './rebuild-link.js';
import { type RebuildReport, judge } from './rebuild-report.js';
import { DEFAULT_REBUILD_TUNING, type RebuildTuning, collectFromPeers } from './rebuild-session.js';
import { StoreTopics, assertTopicId } from './topics.js';

export interface RebuildOptions {
  readonly nodeId: string;
  readonly journalPath: string;
  readonly replication: Pick<ReplicationConfig, 'fleet' | 'store' | 'brokerUrl' | 'username' | 'passwordFile' | 'signingKeyFile' | 'peers'>;
  /** The public key the dead node signed with (SPKI PEM); by default the public half of the configured signing key. */
  readonly originPublicKeyFile?: string;
  /** Move an existing journal with entries aside instead of refusing. */
  readonly force?: boolean;
  /** Install the verified prefix even when the peers hold less than the node last announced. */
  readonly acceptIncomplete?: boolean;
  /** Rebuild although the node's retained status says it is online. */
  readonly evenIfOnline?: boolean;
  readonly timeoutMs?: number;
  readonly tuning?: Partial<RebuildTuning>;
  readonly log?: ReplicationLog;
  /** Called once the inbox subscription is in place, before the first request. */
  readonly onSubscribed?: () => void;
}

export const DEFAULT_REBUILD_TIMEOUT_MS = 120_000;

/**
 * Rebuilds a replacement box's journal from its peers' replicas, before its node starts: the
 * journal path is locked and checked, the node's own entries are collected from the store and
 * verified, and only a whole, verified chain is installed (the same rows and hashes as the dead
 * box wrote), after which Journal.open accepts it. The completeness criterion is in judge().
 */
export async function rebuildFromPeers(options: RebuildOptions): Promise<RebuildReport> {
  const started = Date.now();
  const { nodeId, journalPath, replication } = options;
  const tuning = { ...DEFAULT_REBUILD_TUNING, ...options.tuning };
  const log = options.log ?? silentLog;
  const topics = new StoreTopics(replication.fleet, replication.store);
  assertTopicId('node', nodeId);
  const keys = keyRing(options);
  const { lock, existing } = claimJournalPath(journalPath, options.force === true);
  let installed: ReturnType<typeof installRebuilt>;
  let report: RebuildReport;
  try {
    const collector = new RebuildCollector(nodeId, keys);
    const client = await openRebuildLink({ nodeId, replication, connectTimeoutMs: tuning.connectTimeoutMs });
    const session = await collectFromPeers({
      nodeId,
      topics,
      client,
      collector,
      known: new Set(keys.keys()),
      tuning,
      deadlineMs: started + (options.timeoutMs ?? DEFAULT_REBUILD_TIMEOUT_MS),
      log,
      subscribe: async () => {
        await subscribeAll(client, [topics.inbox(nodeId), topics.everyNode('status')]);
        options.onSubscribed?.();
      },
    }).finally(() => closeRebuildLink(client));
    report = judge({
      nodeId,
      journalPath,
      collector,
      session,
      existing,
      started,
      acceptIncomplete: options.acceptIncomplete === true,
      evenIfOnline: options.evenIfOnline === true,
      peerIds: replication.peers.map((p) => p.nodeId),
    });
    installed = installRebuilt(journalPath, nodeId, collector.entries(), new Date().toISOString().replace(/[:.]/g, '-'));
  } finally {
    lock.release();
  }
  openCheck(journalPath, nodeId);
  log.info({ nodeId, entries: installed.entries, headSeq: installed.headSeq }, 'journal rebuilt from peers');
  return { ...report, installed: true, keptAt: installed.keptAt, durationMs: Date.now() - started };
}

/** The fleet's keys as the replicator knows them, with the origin's own key for its entries. */
function keyRing(options: RebuildOptions): Map<string, KeyObject> {
  const { nodeId, replication } = options;
  if (replication.peers.some((p) => p.nodeId === nodeId)) {
    throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `peers: node ${JSON.stringify(nodeId)} lists itself as a peer`, { nodeId });
  }
  const own =
    options.originPublicKeyFile === undefined
      ? createPublicKey(loadSigningKey(replication.signingKeyFile))
      : loadKeyRing([{ nodeId, publicKeyFile: options.originPublicKeyFile }]).get(nodeId)!;
  return new Map([...loadKeyRing(replication.peers), [nodeId, own]]);
}
