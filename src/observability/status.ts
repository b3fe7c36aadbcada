import type { BreakerState } from '../central/online-breaker.js';
import type { JournalReader } from '../journal/journal-reader.js';
import type { LaneInfo } from '../lanes/lane-service.js';
import type { ObservedNode } from './observed-node.js';
import type { UplinkStatus } from '../reconcile/uplink-protocol.js';
import { displayAmount } from '../money/index.js';
import { codeMeaning } from './code-meanings.js';
import type { RecentDecision } from './decision-log.js';
import { edgepayVersion } from '../platform/version.js';

/** A decision as the page shows it: the amount with its currency's exponent, the code's meaning beside the decision's reason. */
export interface ShownDecision extends RecentDecision {
  readonly amountText: string;
  readonly codeMeaning: string | null;
}

/** What the store's staff see on the status page, as JSON. */
export interface NodeStatusReport {
  readonly nodeId: string;
  /** The edgepay release this node runs. */
  readonly version: string;
  /** When the node put this report together (its wall clock). */
  readonly atMs: number;
  readonly healthy: boolean;
  readonly tree: readonly { readonly id: string; readonly state: string; readonly restarts: number }[];
  readonly lanes: readonly LaneInfo[];
  /**
   * The replicator's connection to the store broker: false while it is away (payments go on, the
   * peers get their copies when it is back); null: no replication configured. url: the broker it is
   * on (or dialling); onStandby: not the primary (brokerUrl) but one of standbyBrokerUrls; failovers
   * and failbacks since the node started (null while the replicator does not answer).
   */
  readonly broker: {
    readonly connected: boolean | null;
    readonly url: string | null;
    readonly onStandby: boolean | null;
    readonly failovers: number | null;
    readonly failbacks: number | null;
  };
  /**
   * online: the centre answered the last forwarding round; offline: it did not; null: no centre
   * configured. onlineBreaker, with online authorization on: closed while payments ask the centre,
   * open or half_open while they are decided offline at once (since sinceMs; next probe at
   * nextProbeAtMs); null otherwise, or while the uplink does not answer.
   */
  readonly centre: {
    readonly online: boolean | null;
    readonly lastRoundAtMs: number | null;
    readonly lastError: string | null;
    readonly onlineBreaker: { readonly state: BreakerState; readonly sinceMs: number | null; readonly nextProbeAtMs: number | null } | null;
  };
  readonly backlog: { readonly unforwarded: number; readonly oldestAgeSeconds: number | null };
  readonly peers: readonly { readonly nodeId: string; readonly online: boolean | null; readonly lag: number; readonly headSeq: number }[];
  /** Silent peers whose journals this box holds in custody and forwards to the centre for them. */
  readonly custody: readonly string[];
  readonly recentDecisions: readonly ShownDecision[];
  readonly exceptions: readonly { readonly seq: number; readonly amountMinor: number; readonly currency: string; readonly amountText: string; readonly reason: string | null }[];
}

export function isHealthy(runtime: ObservedNode): boolean {
  return runtime.supervisor.children().every((child) => child.state === 'running');
}

/** Whether the replicator is connected to the store broker now; null without replication. A replicator that does not answer counts as not connected. */
export async function brokerConnected(runtime: ObservedNode): Promise<boolean | null> {
  if (runtime.config.replication === undefined) return null;
  return (await runtime.askOnce('replicator', { type: 'status' }, 1_000).catch(() => undefined))?.connected === true;
}

/** The centre counts as up once a forwarding round got its answer and the last one did; an uplink that does not answer is down. */
export function centreIsUp(uplink: UplinkStatus | undefined): boolean {
  return uplink !== undefined && uplink.rounds > 0 && uplink.lastError === null;
}

/** `reader` is the caller's read-only connection to this node's journal, kept open between requests. */
export async function nodeStatus(runtime: ObservedNode, reader: JournalReader): Promise<NodeStatusReport> {
  const { config } = runtime;
  const nowMs = Date.now();
  const backlog = reader.backlog();
  const uplink = config.centre === undefined ? undefined : await runtime.askOnce('uplink', { type: 'status' }, 1_000).catch(() => undefined);
  const replicator = config.replication === undefined ? undefined : await runtime.askOnce('replicator', { type: 'status' }, 1_000).catch(() => undefined);
  return {
    nodeId: config.nodeId,
    version: edgepayVersion(),
    atMs: nowMs,
    healthy: isHealthy(runtime),
    tree: runtime.supervisor.children().map((c) => ({ id: c.id, state: c.state, restarts: c.restarts })),
    lanes: await runtime.lanes.lanes(),
    broker: {
      connected: config.replication === undefined ? null : replicator?.connected === true,
      url: replicator?.broker.url ?? null,
      onStandby: replicator?.broker.onStandby ?? null,
      failovers: replicator?.broker.failovers ?? null,
      failbacks: replicator?.broker.failbacks ?? null,
    },
    centre: {
      online: config.centre === undefined ? null : centreIsUp(uplink),
      lastRoundAtMs: uplink?.lastRoundAtMs ?? null,
      lastError: uplink?.lastError?.message ?? null,
      onlineBreaker: uplink?.onlineBreaker === undefined ? null : { state: uplink.onlineBreaker.state, sinceMs: uplink.onlineBreaker.sinceMs, nextProbeAtMs: uplink.onlineBreaker.nextProbeAtMs },
    },
    backlog: { unforwarded: backlog.unforwarded, oldestAgeSeconds: backlog.oldestUnforwardedWallMs === null ? null : Math.round((nowMs - backlog.oldestUnforwardedWallMs) / 1000) },
    peers: (replicator?.origins ?? []).map((o) => ({ nodeId: o.origin, online: o.online, lag: o.lag, headSeq: o.headSeq })),
    custody: replicator?.custody ?? [],
    recentDecisions: runtime.decisions.latest(20).map((d) => ({ ...d, amountText: displayAmount(d.amountMinor, d.currency), codeMeaning: codeMeaning(d.code) })),
    exceptions: reader.exceptionEntries(20).map((e) => ({ seq: e.seq, amountMinor: e.amountMinor, currency: e.currency, amountText: displayAmount(e.amountMinor, e.currency), reason: e.reason })),
  };
}
