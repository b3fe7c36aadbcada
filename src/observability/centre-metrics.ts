import { Counter, Gauge, type Registry } from 'prom-client';
import type { Centre } from '../central/centre.js';
import type { CentreService } from '../central/centre-service.js';
import { METRICS } from '../metrics/metric-names.js';
import { registerProcessMetrics } from './process-metrics.js';

/** What the centre's metrics read, at scrape time, from the parts that count. */
export interface CentreMetricsSource {
  readonly service: Pick<CentreService, 'stats' | 'refusals' | 'onlineDecisions' | 'connected'>;
  readonly centre: Pick<Centre, 'refusals' | 'posted' | 'exceptions'>;
  /** Whether the ledger answers a query now (bounded by its own timeout). */
  ledgerUp(): Promise<boolean>;
}

/**
 * The centre process's series: batches received and refused by code, entries newly posted by
 * outcome, exceptions by reason, online decisions by code, the broker connection and the ledger,
 * beside the process metrics and build_info. The counts live in the service and the centre (plain
 * maps, no prom-client in the domain); each scrape adds to the counters what grew since the last.
 */
export function registerCentreMetrics(registry: Registry, source: CentreMetricsSource): void {
  registerProcessMetrics(registry);
  const { service, centre } = source;

  const received = new Counter({
    name: METRICS.centreBatchesReceived.name,
    help: 'Batches received from the fleet on the uplink topics (whatever became of them)',
    registers: [registry],
    collect() {
      grow(this, {}, service.stats.batches);
    },
  });
  received.inc(0);

  new Counter({
    name: METRICS.centreBatchesRefused.name,
    help: 'Batches refused, by error code: forged or unsigned (EDGEPAY_CENTRE_SIGNATURE), unknown or revoked nodes, gaps, conflicts, bad shape',
    labelNames: ['code'] as const,
    registers: [registry],
    collect() {
      const byCode = new Map<string, number>(centre.refusals);
      for (const [code, count] of service.refusals) byCode.set(code, (byCode.get(code) ?? 0) + count);
      for (const [code, count] of byCode) grow(this, { code }, count);
    },
  });

  const malformed = new Counter({
    name: METRICS.centreMessagesMalformed.name,
    help: "Messages on the centre topics refused unread: not a batch or online request, or addressed on another node's topic",
    registers: [registry],
    collect() {
      grow(this, {}, service.stats.malformed);
    },
  });
  malformed.inc(0);

  const posted = new Counter({
    name: METRICS.centreEntriesPosted.name,
    help: 'Journal entries newly held by the ledger, by result: settled, exception, recorded (a redelivered entry is not counted again)',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      for (const [result, count] of centre.posted) grow(this, { result }, count);
    },
  });
  for (const result of ['settled', 'exception', 'recorded']) posted.inc({ result }, 0);

  const exceptions = new Counter({
    name: METRICS.centreExceptions.name,
    help: 'Offline approvals the centre refused after the fact (exceptions for the operator), by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      for (const [reason, count] of centre.exceptions) grow(this, { reason }, count);
    },
  });
  // The series exists from the start at 0, so an alert on its increase sees the first exception.
  exceptions.inc({ reason: 'hot_listed' }, 0);

  new Counter({
    name: METRICS.centreOnlineDecisions.name,
    help: 'Online authorizations answered, by response code and outcome',
    labelNames: ['code', 'approved'] as const,
    registers: [registry],
    collect() {
      for (const [code, { approved, count }] of service.onlineDecisions) grow(this, { code, approved: String(approved) }, count);
    },
  });

  new Gauge({
    name: METRICS.brokerUp.name,
    help: "1 while the centre's connection to the fleet broker is up, 0 otherwise",
    registers: [registry],
    collect() {
      this.set(service.connected ? 1 : 0);
    },
  });

  new Gauge({
    name: METRICS.centreLedgerUp.name,
    help: '1 while the ledger answers a query, 0 otherwise',
    registers: [registry],
    async collect() {
      this.set((await source.ledgerUp()) ? 1 : 0);
    },
  });
}

/** What each counter was brought up to, per label set. */
const reached = new WeakMap<object, Map<string, number>>();

/** Brings a counter up to a total kept elsewhere (such totals only grow within one process). */
function grow<L extends string>(counter: Counter<L>, labels: Partial<Record<L, string>>, total: number): void {
  let totals = reached.get(counter);
  if (totals === undefined) reached.set(counter, (totals = new Map()));
  const key = JSON.stringify(Object.entries(labels).sort());
  const current = totals.get(key) ?? 0;
  if (total <= current) return;
  counter.inc(labels, total - current);
  totals.set(key, total);
}
