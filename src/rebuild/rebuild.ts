import { type KeyObject, createPublicKey } from 'node:crypto';
import type { ReplicationConfig } from '../replication/config.js';
import { ReplicationError } from '../wire/errors.js';
import { loadKeyRing, loadSigningKey } from '../wire/keys.js';
import { type ReplicationLog, silentLog } from '../platform/replication-log.js';
import { inspectBackup } from '../journal/backup.js';
import type { JournalEntry } from '../journal/entry.js';
import { type ImportResult, appendVerifiedEntries } from '../journal/import.js';
import type { KeyRing } from '../wire/keys.js';
import { type ChainBase, GENESIS_BASE, RebuildCollector } from './collector.js';
import { RebuildError } from './errors.js';
import { type ExistingJournal, claimJournalPath, installRebuilt, openCheck } from './journal.js';
import { closeRebuildLink, openRebuildLink, subscribeAll } from './link.js';
import { type RebuildReport, judge } from './report.js';
import { type CollectProgress, DEFAULT_REBUILD_TUNING, type RebuildTimer, type RebuildTransport, type RebuildTuning, collectFromPeers, mqttRebuildTransport, realRebuildTimer } from './session.js';
import { StoreTopics, assertTopicId } from '../wire/topics.js';

export interface RebuildOptions {
  readonly nodeId: string;
  readonly journalPath: string;
  readonly replication: Pick<ReplicationConfig, 'fleet' | 'store' | 'brokerUrl' | 'username' | 'passwordFile' | 'caFile' | 'certFile' | 'keyFile' | 'signingKeyFile' | 'peers'>;
  /** The public key the dead node signed with (SPKI PEM); by default the public half of the configured signing key. */
  readonly originPublicKeyFile?: string;
  /** Move an existing journal with entries aside instead of refusing. */
  readonly force?: boolean;
  /** Keep the journal at the path (restored from a backup) and append only the entries after its head. */
  readonly keepExisting?: boolean;
  /** Install the verified prefix even when the peers hold less than the node last announced. */
  readonly acceptIncomplete?: boolean;
  /** Rebuild although the node's retained status says it is online. */
  readonly evenIfOnline?: boolean;
  readonly timeoutMs?: number;
  readonly tuning?: Partial<RebuildTuning>;
  readonly log?: ReplicationLog;
  /** Called once the inbox subscription is in place, before the first request. */
  readonly onSubscribed?: () => void;
  /** How far collecting is (entries collected out of those up to the node's last announced head), for a progress display. */
  readonly onProgress?: CollectProgress;
  /** How far installing is: the rebuilt entries written into the journal, then its whole chain verified. */
  readonly onInstallProgress?: InstallProgress;
}

/**
 * One step of installing the collected chain: `writing` counts the entries written into a new
 * journal (a journal kept with --keep-existing is appended to in one go, without counts);
 * `verifying` the entries of the installed journal re-hashed, from its entry 1.
 */
export type InstallProgress = (step: 'writing' | 'verifying', done: number, total: number) => void;

/** How often writing reports its count. */
const WRITE_PROGRESS_EVERY = 1_000;

export const DEFAULT_REBUILD_TIMEOUT_MS = 120_000;

/** A broker link for one rebuild: opened after the journal path is claimed, closed before installing. */
export interface RebuildLink {
  readonly transport: RebuildTransport;
  subscribe(filters: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export interface RebuildOverOptions
  extends Pick<RebuildOptions, 'nodeId' | 'journalPath' | 'force' | 'keepExisting' | 'acceptIncomplete' | 'evenIfOnline' | 'timeoutMs' | 'log' | 'onSubscribed' | 'onProgress' | 'onInstallProgress'> {
  readonly topics: StoreTopics;
  /** The fleet's keys, the origin's own among them. */
  readonly keys: KeyRing;
  /**
   * The box's signing key, for its repair requests: peers answer them only if they verify with the
   * key they pinned for the node, so a box with a new key needs its peers to know it first.
   */
  readonly signingKey: KeyObject;
  readonly peerIds: readonly string[];
  readonly tuning: RebuildTuning;
  readonly timer: RebuildTimer;
  readonly openLink: () => Promise<RebuildLink>;
  /** Names the replaced journal's files; a timestamp by default. */
  readonly keepSuffix?: string;
}

/**
 * Rebuilds a replacement box's journal from its peers' replicas, before its node starts: the
 * journal path is locked and checked, the node's own entries are collected from the store and
 * verified, and only a whole, verified chain is installed (the same rows and hashes as the dead
 * box wrote), after which Journal.open accepts it. The completeness criterion is in judge().
 * With `keepExisting`, a journal restored from a backup stays and only the entries after its head
 * are collected and appended; they must link to it.
 */
export async function rebuildFromPeers(options: RebuildOptions): Promise<RebuildReport> {
  const { nodeId, replication } = options;
  assertTopicId('node', nodeId);
  const tuning = { ...DEFAULT_REBUILD_TUNING, ...options.tuning };
  return rebuildOver({
    ...options,
    topics: new StoreTopics(replication.fleet, replication.store),
    keys: keyRing(options),
    signingKey: loadSigningKey(replication.signingKeyFile),
    peerIds: replication.peers.map((p) => p.nodeId),
    tuning,
    timer: realRebuildTimer,
    openLink: async () => {
      const client = await openRebuildLink({ nodeId, replication, connectTimeoutMs: tuning.connectTimeoutMs });
      return { transport: mqttRebuildTransport(client), subscribe: (filters) => subscribeAll(client, filters), close: () => closeRebuildLink(client) };
    },
  });
}

/** The rebuild on any broker link and clock: the command's MQTT client, or a simulated store's. */
export async function rebuildOver(options: RebuildOverOptions): Promise<RebuildReport> {
  const { nodeId, journalPath, topics, timer } = options;
  const started = timer.nowMs();
  const log = options.log ?? silentLog;
  const keepExisting = options.keepExisting === true;
  const { lock, existing } = claimJournalPath(journalPath, options.force === true || keepExisting);
  let installed: ImportResult & { readonly keptAt: string | null };
  let report: RebuildReport;
  try {
    const base = keepExisting ? baseOf(journalPath, nodeId, existing) : GENESIS_BASE;
    const collector = new RebuildCollector(nodeId, options.keys, base);
    const link = await options.openLink();
    const session = await collectFromPeers({
      nodeId,
      topics,
      transport: link.transport,
      timer,
      collector,
      known: new Set(options.keys.keys()),
      keys: options.keys,
      signingKey: options.signingKey,
      tuning: options.tuning,
      deadlineMs: started + (options.timeoutMs ?? DEFAULT_REBUILD_TIMEOUT_MS),
      log,
      subscribe: async () => {
        await link.subscribe([topics.inbox(nodeId), topics.everyNode('status')]);
        options.onSubscribed?.();
      },
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    }).finally(() => link.close());
    report = judge({
      nodeId,
      journalPath,
      collector,
      session,
      existing,
      started,
      now: timer.nowMs(),
      acceptIncomplete: options.acceptIncomplete === true,
      evenIfOnline: options.evenIfOnline === true,
      peerIds: options.peerIds,
    });
    installed =
      base.seq > 0
        ? { ...appendVerifiedEntries(journalPath, nodeId, collector.entries()), keptAt: null }
        : installRebuilt(journalPath, nodeId, counted(collector.entries(), options.onInstallProgress), options.keepSuffix ?? new Date().toISOString().replace(/[:.]/g, '-'));
  } finally {
    lock.release();
  }
  const onInstallProgress = options.onInstallProgress;
  openCheck(journalPath, nodeId, onInstallProgress === undefined ? undefined : (checked, total) => onInstallProgress('verifying', checked, total));
  log.info({ nodeId, entries: installed.entries, headSeq: installed.headSeq }, 'journal rebuilt from peers');
  return { ...report, installed: true, keptAt: installed.keptAt, durationMs: timer.nowMs() - started };
}

/** The entries as the journal takes them, counted for a progress display. */
function* counted(entries: readonly JournalEntry[], onProgress: InstallProgress | undefined): Generator<JournalEntry> {
  if (onProgress === undefined) {
    yield* entries;
    return;
  }
  let written = 0;
  for (const entry of entries) {
    yield entry;
    written++;
    if (written % WRITE_PROGRESS_EVERY === 0 || written === entries.length) onProgress('writing', written, entries.length);
  }
}

/** The head of the journal kept at the path, which must be this node's and verify whole. */
function baseOf(journalPath: string, nodeId: string, existing: ExistingJournal): ChainBase {
  if (existing.kind === 'none') return GENESIS_BASE;
  if (existing.kind === 'unreadable') {
    throw new RebuildError('EDGEPAY_REBUILD_REFUSED', `${journalPath} cannot be kept: it is unreadable (${existing.reason}); restore a good backup, or rebuild without --keep-existing`, { path: journalPath });
  }
  const report = inspectBackup(journalPath);
  if (report.nodeId !== nodeId || !report.ok) {
    const why = report.nodeId !== nodeId ? `it belongs to node ${JSON.stringify(report.nodeId)}` : `its chain breaks at entry ${report.problem?.seq} (${report.problem?.message})`;
    throw new RebuildError('EDGEPAY_REBUILD_REFUSED', `${journalPath} cannot be kept: ${why}; restore a good backup, or rebuild without --keep-existing`, { path: journalPath });
  }
  return { seq: report.headSeq, hash: report.headHash };
}

/** The fleet's keys as the replicator knows them, with the origin's own key for its entries. */
function keyRing(options: RebuildOptions): Map<string, KeyObject> {
  const { nodeId, replication } = options;
  if (replication.peers.some((p) => p.nodeId === nodeId)) {
    throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `peers: node ${JSON.stringify(nodeId)} lists itself as a peer`, { nodeId });
  }
  const own = options.originPublicKeyFile === undefined ? createPublicKey(loadSigningKey(replication.signingKeyFile)) : loadKeyRing([{ nodeId, publicKeyFile: options.originPublicKeyFile }]).get(nodeId)!;
  return new Map([...loadKeyRing(replication.peers), [nodeId, own]]);
}
