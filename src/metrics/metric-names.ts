/*
 * Every Prometheus series edgepay exports, by name, in one place: the code that registers a metric
 * takes its name from here, and the shipped dashboard and alert rules are checked against this
 * table (test/monitoring.test.ts). No imports, so an actor thread or the actor runtime can read it
 * without loading prom-client.
 */

export type MetricKind = 'counter' | 'gauge' | 'histogram';
/** Which process exports a series: a store node, the centre, or both. */
export type MetricSource = 'node' | 'centre';

export interface MetricSpec {
  readonly name: string;
  readonly kind: MetricKind;
  readonly exportedBy: readonly MetricSource[];
}

const node = ['node'] as const;
const centre = ['centre'] as const;
const both = ['node', 'centre'] as const;

export const METRICS = {
  buildInfo: { name: 'edgepay_build_info', kind: 'gauge', exportedBy: both },
  brokerUp: { name: 'edgepay_broker_up', kind: 'gauge', exportedBy: both },
  brokerOnStandby: { name: 'edgepay_broker_on_standby', kind: 'gauge', exportedBy: node },
  brokerFailovers: { name: 'edgepay_broker_failovers', kind: 'gauge', exportedBy: node },
  quorumDecisions: { name: 'edgepay_quorum_decisions_total', kind: 'counter', exportedBy: node },

  decisions: { name: 'edgepay_decisions_total', kind: 'counter', exportedBy: node },
  decisionLatency: { name: 'edgepay_decision_latency_seconds', kind: 'histogram', exportedBy: node },
  journalCommitLatency: { name: 'edgepay_journal_commit_latency_seconds', kind: 'histogram', exportedBy: node },
  offlineExposure: { name: 'edgepay_offline_exposure', kind: 'gauge', exportedBy: node },
  unforwardedEntries: { name: 'edgepay_unforwarded_entries', kind: 'gauge', exportedBy: node },
  oldestUnforwardedAge: { name: 'edgepay_oldest_unforwarded_age_seconds', kind: 'gauge', exportedBy: node },
  replicationLag: { name: 'edgepay_replication_lag_entries', kind: 'gauge', exportedBy: node },
  peerUp: { name: 'edgepay_peer_up', kind: 'gauge', exportedBy: node },
  readerState: { name: 'edgepay_reader_state', kind: 'gauge', exportedBy: node },
  peerApprovalsIgnored: { name: 'edgepay_peer_approvals_ignored_total', kind: 'counter', exportedBy: node },
  centreAnswersRejected: { name: 'edgepay_centre_answers_rejected_total', kind: 'counter', exportedBy: node },
  centreUp: { name: 'edgepay_centre_up', kind: 'gauge', exportedBy: node },
  onlineBreakerState: { name: 'edgepay_centre_online_breaker_state', kind: 'gauge', exportedBy: node },
  onlineBreakerTransitions: { name: 'edgepay_centre_online_breaker_transitions_total', kind: 'counter', exportedBy: node },
  healthy: { name: 'edgepay_healthy', kind: 'gauge', exportedBy: node },
  apiUnauthorized: { name: 'edgepay_api_unauthorized_total', kind: 'counter', exportedBy: node },
  actorRestarts: { name: 'edgepay_actor_restarts_total', kind: 'counter', exportedBy: node },
  actorOverloads: { name: 'edgepay_actor_overloads_total', kind: 'counter', exportedBy: node },
  actorCrashes: { name: 'edgepay_actor_crashes_total', kind: 'counter', exportedBy: node },
  actorMailboxDepth: { name: 'edgepay_actor_mailbox_depth', kind: 'gauge', exportedBy: node },

  centreBatchesReceived: { name: 'edgepay_centre_batches_received_total', kind: 'counter', exportedBy: centre },
  centreBatchesRefused: { name: 'edgepay_centre_batches_refused_total', kind: 'counter', exportedBy: centre },
  centreMessagesMalformed: { name: 'edgepay_centre_messages_malformed_total', kind: 'counter', exportedBy: centre },
  centreEntriesPosted: { name: 'edgepay_centre_entries_posted_total', kind: 'counter', exportedBy: centre },
  centreExceptions: { name: 'edgepay_centre_exceptions_total', kind: 'counter', exportedBy: centre },
  centreOnlineDecisions: { name: 'edgepay_centre_online_decisions_total', kind: 'counter', exportedBy: centre },
  centreLedgerUp: { name: 'edgepay_centre_ledger_up', kind: 'gauge', exportedBy: centre },
} as const satisfies Record<string, MetricSpec>;

/**
 * The series names a scrape shows for the metrics above: a histogram shows as `_bucket`, `_sum` and
 * `_count`. prom-client's default process metrics are not listed: they come from the registry.
 */
export function exportedSeriesNames(source?: MetricSource): string[] {
  const names: string[] = [];
  for (const spec of Object.values(METRICS) as readonly MetricSpec[]) {
    if (source !== undefined && !spec.exportedBy.includes(source)) continue;
    if (spec.kind === 'histogram') names.push(`${spec.name}_bucket`, `${spec.name}_sum`, `${spec.name}_count`);
    else names.push(spec.name);
  }
  return names;
}

/**
 * Latency buckets in seconds, 1 ms to 5 s: a decision or a group commit is a few milliseconds on a
 * healthy box (an fsync), a second or more only when the disk or the centre stalls.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
