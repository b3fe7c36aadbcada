import { Gauge, type Registry, collectDefaultMetrics } from 'prom-client';
import { METRICS } from '../metrics/metric-names.js';
import { edgepayVersion } from '../platform/version.js';

/** A series prom-client's default metrics always register: its presence means they are on the registry already. */
const DEFAULT_METRICS_MARK = 'process_cpu_user_seconds_total';

/**
 * What every edgepay process exports besides its own metrics: prom-client's process and Node.js
 * metrics (CPU, memory, heap, event loop lag, GC, handles) and `edgepay_build_info{version,node}` 1,
 * so a dashboard can tell which release runs where and an upgrade shows as a step.
 */
export function registerProcessMetrics(registry: Registry): void {
  // A node restarted in the same process (tests, an embedding) keeps the first registration:
  // prom-client refuses a second one of the same names.
  if (registry.getSingleMetric(DEFAULT_METRICS_MARK) === undefined) collectDefaultMetrics({ register: registry });
  if (registry.getSingleMetric(METRICS.buildInfo.name) !== undefined) return;
  const info = new Gauge({
    name: METRICS.buildInfo.name,
    help: 'Always 1: the edgepay version and the Node.js version this process runs',
    labelNames: ['version', 'node'] as const,
    registers: [registry],
  });
  info.set({ version: edgepayVersion(), node: process.version }, 1);
}
