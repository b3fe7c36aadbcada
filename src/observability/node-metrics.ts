import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { JournalReader } from '../journal/journal-reader.js';
import { journalPathOf } from '../config/node-config.js';
import type { ObservedNode } from './observed-node.js';
import type { BreakerState } from '../central/online-breaker.js';
import { MergedHistogram } from './merged-histogram.js';
import { LATENCY_BUCKETS_SECONDS, METRICS } from '../metrics/metric-names.js';
import { registerProcessMetrics } from './process-metrics.js';
import { centreIsUp, isHealthy } from './status.js';

/** What the journal writer reports about exposure bookkeeping. */
/**
 * The node's own metrics beside the actor runtime's: decisions by code and mode, offline exposure,
 * the unforwarded backlog and its age, replication lag per peer, and each lane's reader. Gauges
 * are read at scrape time from the parts that know them; a part that does not answer leaves its
 * gauge at the last value rather than failing the scrape.
 */
/** Registered here, per node: the actor runtime's, the API's and the process metrics live as long as their registry. */
const PER_NODE = [
  METRICS.decisions,
  METRICS.decisionLatency,
  METRICS.journalCommitLatency,
  METRICS.offlineExposure,
  METRICS.unforwardedEntries,
  METRICS.oldestUnforwardedAge,
  METRICS.replicationLag,
  METRICS.peerUp,
  METRICS.readerState,
  METRICS.peerApprovalsIgnored,
  METRICS.centreAnswersRejected,
  METRICS.centreUp,
  METRICS.brokerUp,
  METRICS.brokerOnStandby,
  METRICS.brokerFailovers,
  METRICS.quorumDecisions,
  METRICS.healthy,
  METRICS.onlineBreakerState,
  METRICS.onlineBreakerTransitions,
].map((spec) => spec.name);

export function registerNodeMetrics(registry: Registry, runtime: ObservedNode): void {
  // A node restarted in the same process (tests, an embedding) replaces its predecessor's gauges.
  for (const name of PER_NODE) registry.removeSingleMetric(name);
  // Only a node that serves its metrics collects the process's: prom-client's event-loop monitor
  // wakes the main thread every 10 ms, a cost no one could read without the metrics endpoint.
  if (runtime.config.observability !== undefined) registerProcessMetrics(registry);
  registerLinkMetrics(registry, runtime);
  const decisions = new Counter({
    name: METRICS.decisions.name,
    help: 'Payment decisions taken by this node, by response code, mode (offline/online) and outcome',
    labelNames: ['code', 'mode', 'approved'] as const,
    registers: [registry],
  });
  const decisionLatency = new Histogram({
    name: METRICS.decisionLatency.name,
    help: 'Seconds from a payment request reaching the node (POS API, lane or follow-up) to its durable decision, by mode (offline/online)',
    labelNames: ['mode'] as const,
    buckets: [...LATENCY_BUCKETS_SECONDS],
    registers: [registry],
  });
  runtime.decisions.onDecision((d) => {
    if (d.replayed) return;
    decisions.inc({ code: d.code, mode: d.mode, approved: String(d.approved) });
    if (d.latencyMs !== null) decisionLatency.observe({ mode: d.mode }, d.latencyMs / 1_000);
  });
  new MergedHistogram(registry, METRICS.journalCommitLatency.name, 'Seconds each journal group commit took (one transaction and its fsync, however many decisions it carried)', () =>
    runtime.askOnce('journal-writer', { type: 'commit-latency' }, 1_000),
  );

  new Gauge({
    name: METRICS.offlineExposure.name,
    help: "Offline exposure bookkeeping: own approvals in card windows, approvals stored and not forwarded, peers' approvals counted",
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      const summary = await runtime.askOnce('journal-writer', { type: 'exposure' }, 1_000).catch(() => undefined);
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
    name: METRICS.peerApprovalsIgnored.name,
    help: "Peers' offline approvals left out of shared card exposure as implausible (an alert): dated beyond the clock tolerance (future) or over the per-card limits for one origin (over_limit)",
    labelNames: ['reason'] as const,
    registers: [registry],
    async collect() {
      const summary = await runtime.askOnce('journal-writer', { type: 'exposure' }, 1_000).catch(() => undefined);
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
      name: METRICS.centreAnswersRejected.name,
      help: "Answers on this node's centre topic not believed and treated as no answer (an alert): bad_signature (forged), mismatch (another node's, payment's or batch's), expired, malformed, unsolicited (late or replayed)",
      labelNames: ['reason'] as const,
      registers: [registry],
      async collect() {
        const status = await runtime.askOnce('uplink', { type: 'status' }, 1_000).catch(() => undefined);
        for (const [reason, count] of Object.entries(status?.rejectedAnswers ?? {})) {
          const seen = rejectedSeen.get(reason) ?? 0;
          rejectedSeen.set(reason, count);
          this.inc({ reason }, count >= seen ? count - seen : count);
        }
      },
    });
  }

  if (runtime.config.centre?.online.enabled === true) registerOnlineBreakerMetrics(registry, runtime);
  if (runtime.config.replication?.quorum.enabled === true) registerQuorumMetrics(registry, runtime);

  const reader = new JournalReader(journalPathOf(runtime.config), runtime.config.nodeId);
  void runtime.exited.then(
    () => reader.close(),
    () => reader.close(),
  );
  const backlog = (): ReturnType<JournalReader['backlog']> => reader.backlog();
  new Gauge({
    name: METRICS.unforwardedEntries.name,
    help: 'Journal entries the centre has not confirmed yet',
    registers: [registry],
    collect() {
      this.set(backlog().unforwarded);
    },
  });
  new Gauge({
    name: METRICS.oldestUnforwardedAge.name,
    help: 'Age of the oldest journal entry the centre has not confirmed (0 when none)',
    registers: [registry],
    collect() {
      const oldest = backlog().oldestUnforwardedWallMs;
      this.set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    },
  });

  if (runtime.config.replication !== undefined) {
    new Gauge({
      name: METRICS.replicationLag.name,
      help: 'Entries a peer announced that this node does not hold yet, per peer',
      labelNames: ['peer'] as const,
      registers: [registry],
      async collect() {
        const status = await runtime.askOnce('replicator', { type: 'status' }, 1_000).catch(() => undefined);
        for (const origin of status?.origins ?? []) this.set({ peer: origin.origin }, origin.lag);
      },
    });
  }

  if (runtime.config.lanes.length > 0) {
    new Gauge({
      name: METRICS.readerState.name,
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

/**
 * 1 or 0 for what the node depends on, read at scrape time as /status.json reads it: the tree
 * (the /health and watchdog condition), the store broker (the replicator's connection), the
 * centre (the uplink's last round answered) and each peer (heard within the silence limit). A
 * part that does not answer counts as down: it is restarting, or hung.
 */
function registerLinkMetrics(registry: Registry, runtime: ObservedNode): void {
  const { config } = runtime;
  new Gauge({
    name: METRICS.healthy.name,
    help: '1 while every child of the supervision tree runs (the /health and systemd watchdog condition), 0 otherwise',
    registers: [registry],
    collect() {
      this.set(isHealthy(runtime) ? 1 : 0);
    },
  });
  if (config.replication !== undefined) {
    const replicator = () => runtime.askOnce('replicator', { type: 'status' }, 1_000).catch(() => undefined);
    new Gauge({
      name: METRICS.brokerUp.name,
      help: "1 while the replicator's connection to the store broker is up, 0 otherwise",
      registers: [registry],
      async collect() {
        this.set((await replicator())?.connected === true ? 1 : 0);
      },
    });
    new Gauge({
      name: METRICS.brokerOnStandby.name,
      help: "1 while the replicator is on one of the store's standby brokers (replication.standbyBrokerUrls), 0 on the primary",
      registers: [registry],
      async collect() {
        this.set((await replicator())?.broker.onStandby === true ? 1 : 0);
      },
    });
    new Gauge({
      name: METRICS.brokerFailovers.name,
      help: 'Connections made to another store broker than the previous one since the node started (moves to a standby and back)',
      registers: [registry],
      async collect() {
        const status = await replicator();
        if (status !== undefined) this.set(status.broker.failovers);
      },
    });
    new Gauge({
      name: METRICS.peerUp.name,
      help: 'Per peer: 1 while it is heard from, 0 while it is silent (offline or unreachable)',
      labelNames: ['peer'] as const,
      registers: [registry],
      async collect() {
        for (const origin of (await replicator())?.origins ?? []) if (origin.online !== null) this.set({ peer: origin.origin }, origin.online ? 1 : 0);
      },
    });
  }
  if (config.centre !== undefined) {
    new Gauge({
      name: METRICS.centreUp.name,
      help: "1 while the centre answered the uplink's last forwarding round, 0 while it does not (payments are decided offline)",
      registers: [registry],
      async collect() {
        const uplink = await runtime.askOnce('uplink', { type: 'status' }, 1_000).catch(() => undefined);
        this.set(centreIsUp(uplink) ? 1 : 0);
      },
    });
  }
}

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];

/**
 * The uplink's circuit breaker for online authorization: its state (1 for the current one, every
 * state shown so an alert has a series to watch) and its transitions, counted by the uplink from
 * its own start and added here as they grow, like the counters above.
 */
function registerOnlineBreakerMetrics(registry: Registry, runtime: ObservedNode): void {
  const breaker = async () => (await runtime.askOnce('uplink', { type: 'status' }, 1_000).catch(() => undefined))?.onlineBreaker;
  new Gauge({
    name: METRICS.onlineBreakerState.name,
    help: 'Online authorization: 1 for the state payments are in: closed (they ask the centre), open (decided offline at once, the centre unreachable), half_open (decided offline, one probe in flight)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const status = await breaker();
      if (status === undefined) return;
      for (const state of BREAKER_STATES) this.set({ state }, status.state === state ? 1 : 0);
    },
  });
  const seen = new Map<string, number>();
  new Counter({
    name: METRICS.onlineBreakerTransitions.name,
    help: 'Online authorization: transitions of the circuit breaker, by from and to state (closed to open: the centre stopped answering)',
    labelNames: ['from', 'to'] as const,
    registers: [registry],
    async collect() {
      for (const { from, to, count } of (await breaker())?.transitions ?? []) {
        const key = `${from}>${to}`;
        const last = seen.get(key) ?? 0;
        seen.set(key, count);
        this.inc({ from, to }, count >= last ? count - last : count);
      }
    },
  });
}

/**
 * Quorum acknowledgement (replication.quorum.enabled): decisions answered after a majority of the
 * reachable peers held them, and those answered local-only when quorum.timeoutMs ran out (peers
 * unreachable, or the store broker away). Counted by the replicator from its own start.
 */
function registerQuorumMetrics(registry: Registry, runtime: ObservedNode): void {
  const seen = { reached: 0, local_only: 0 };
  new Counter({
    name: METRICS.quorumDecisions.name,
    help: 'Decisions with quorum acknowledgement on, by result: reached (a majority of the reachable peers held the entry first) or local_only (quorum.timeoutMs ran out)',
    labelNames: ['result'] as const,
    registers: [registry],
    async collect() {
      const counters = (await runtime.askOnce('replicator', { type: 'status' }, 1_000).catch(() => undefined))?.counters;
      if (counters === undefined) return;
      for (const [result, count] of [
        ['reached', counters.quorum_reached],
        ['local_only', counters.quorum_local_only],
      ] as const) {
        this.inc({ result }, count >= seen[result] ? count - seen[result] : count);
        seen[result] = count;
      }
    },
  });
}
