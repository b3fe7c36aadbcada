import { Counter, Gauge, type Registry } from 'prom-client';
import { JournalReader } from '../journal/journal-reader.js';
import { journalPathOf } from '../node/config.js';
import type { NodeRuntime } from '../node/runtime.js';
import type { ReplicatorStatus } from '../replication/replicator.js';
import type { UplinkStatus } from '../reconcile/uplink-protocol.js';

/** What the journal writer reports about exposure bookkeeping. */
interface ExposureSummary {
  readonly ownApprovalsTracked: number;
  readonly storedUnforwarded: number;
  readonly peerApprovals: number;
  readonly peerApprovalsIgnored?: Readonly<Record<string, number>>;
}

/**
 * The node's own metrics beside the actor runtime's: decisions by code and mode, offline exposure,
 * the unforwarded backlog and its age, replication lag per peer, and each lane's reader. Gauges
 * are read at scrape time from the parts that know them; a part that does not answer leaves its
 * gauge at the last value rather than failing the scrape.
 */
const NAMES = ['edgepay_decisions_total', 'edgepay_offline_exposure', 'edgepay_unforwarded_entries', 'edgepay_oldest_unforwarded_age_seconds', 'edgepay_replication_lag_entries', 'edgepay_reader_state', 'edgepay_peer_approvals_ignored_total', 'edgepay_centre_answers_rejected_total'];

export function registerNodeMetrics(registry: Registry, runtime: NodeRuntime): void {
  // A node restarted in the same process (tests, an embedding) replaces its predecessor's gauges.
  for (const name of NAMES) registry.removeSingleMetric(name);
  const decisions = new Counter({
    name: 'edgepay_decisions_total',
    help: 'Payment decisions taken by this node, by response code, mode (offline/online) and outcome',
    labelNames: ['code', 'mode', 'approved'] as const,
    registers: [registry],
  });
  runtime.decisions.onDecision((d) => {
    if (!d.replayed) decisions.inc({ code: d.code, mode: d.mode, approved: String(d.approved) });
  });

  new Gauge({
    name: 'edgepay_offline_exposure',
    help: 'Offline exposure bookkeeping: own approvals in card windows, approvals stored and not forwarded, peers\' approvals counted',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      const summary = await runtime.askOnce<{ type: 'exposure' }, ExposureSummary>('journal-writer', { type: 'exposure' }, 1_000).catch(() => undefined);
      if (summary === undefined) return;
      this.set({ kind: 'own_approvals_tracked' }, summary.ownApprovalsTracked);
      this.set({ kind: 'stored_unforwarded' }, summary.storedUnforwarded);
      this.set({ kind: 'peer_approvals' }, summary.peerApprovals);
    },
  });

  // The journal writer counts from its own start, so the counter adds what grew since the last
  // scrape; a count lower than the last one is a restarted journal writer's, all of it new.
  const ignoredSeen = new Map<string, number>();
  new Counter({
    name: 'edgepay_peer_approvals_ignored_total',
    help: "Peers' offline approvals left out of shared card exposure as implausible (an alert): dated beyond the clock tolerance (future) or over the per-card limits for one origin (over_limit)",
    labelNames: ['reason'] as const,
    registers: [registry],
    async collect() {
      const summary = await runtime.askOnce<{ type: 'exposure' }, ExposureSummary>('journal-writer', { type: 'exposure' }, 1_000).catch(() => undefined);
      for (const [reason, count] of Object.entries(summary?.peerApprovalsIgnored ?? {})) {
        const seen = ignoredSeen.get(reason) ?? 0;
        const added = count >= seen ? count - seen : count;
        ignoredSeen.set(reason, count);
        // Every reason is shown from the start, at 0, so an alert rule has a series to watch.
        this.inc({ reason }, added);
      }
    },
  });

  if (runtime.config.centre !== undefined && runtime.config.centre.ledger === undefined) {
    // Counted by the uplink's link from its own start: added as they grow, like the counter above.
    const rejectedSeen = new Map<string, number>();
    new Counter({
      name: 'edgepay_centre_answers_rejected_total',
      help: "Answers on this node's centre topic not believed and treated as no answer (an alert): bad_signature (forged), mismatch (another node's, payment's or batch's), expired, malformed, unsolicited (late or replayed)",
      labelNames: ['reason'] as const,
      registers: [registry],
      async collect() {
        const status = await runtime.askOnce<{ type: 'status' }, UplinkStatus>('uplink', { type: 'status' }, 1_000).catch(() => undefined);
        for (const [reason, count] of Object.entries(status?.rejectedAnswers ?? {})) {
          const seen = rejectedSeen.get(reason) ?? 0;
          rejectedSeen.set(reason, count);
          this.inc({ reason }, count >= seen ? count - seen : count);
        }
      },
    });
  }

  const reader = new JournalReader(journalPathOf(runtime.config), runtime.config.nodeId);
  void runtime.exited.then(() => reader.close(), () => reader.close());
  const backlog = (): ReturnType<JournalReader['backlog']> => reader.backlog();
  new Gauge({
    name: 'edgepay_unforwarded_entries',
    help: 'Journal entries the centre has not confirmed yet',
    registers: [registry],
    collect() {
      this.set(backlog().unforwarded);
    },
  });
  new Gauge({
    name: 'edgepay_oldest_unforwarded_age_seconds',
    help: 'Age of the oldest journal entry the centre has not confirmed (0 when none)',
    registers: [registry],
    collect() {
      const oldest = backlog().oldestUnforwardedWallMs;
      this.set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    },
  });

  if (runtime.config.replication !== undefined) {
    new Gauge({
      name: 'edgepay_replication_lag_entries',
      help: 'Entries a peer announced that this node does not hold yet, per peer',
      labelNames: ['peer'] as const,
      registers: [registry],
      async collect() {
        const status = await runtime.askOnce<{ type: 'status' }, ReplicatorStatus>('replicator', { type: 'status' }, 1_000).catch(() => undefined);
        for (const origin of status?.origins ?? []) this.set({ peer: origin.origin }, origin.lag);
      },
    });
  }

  if (runtime.config.lanes.length > 0) {
    new Gauge({
      name: 'edgepay_reader_state',
      help: "Each lane's reader: 1 for its current state (ready, in_transaction, connecting, disconnected, incompatible, not_running)",
      labelNames: ['lane', 'state'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const lane of await runtime.lanes.lanes()) this.set({ lane: lane.id, state: lane.reader?.state ?? 'not_running' }, 1);
      },
    });
  }
}
