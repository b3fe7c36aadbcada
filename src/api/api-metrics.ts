import { Counter, type Registry } from 'prom-client';
import { METRICS } from '../metrics/metric-names.js';
import type { RefusalReason } from './bearer-auth.js';

const UNAUTHORIZED = METRICS.apiUnauthorized.name;

/**
 * Requests the POS API refused for want of the node's token, by reason. A steady rise of `wrong`
 * is a process on the box guessing, or a POS given an old token; either is worth an alert.
 */
export function unauthorizedCounter(registry: Registry): (reason: RefusalReason) => void {
  // The API is a restartable child: a restart keeps counting on the same series.
  const counter =
    (registry.getSingleMetric(UNAUTHORIZED) as Counter<'reason'> | undefined) ??
    new Counter({ name: UNAUTHORIZED, help: "POS API requests refused with 401: no bearer token (missing) or not the node's (wrong)", labelNames: ['reason'] as const, registers: [registry] });
  // Both series exist from the start at 0, so an alert on their rate sees the first refusal.
  for (const reason of ['missing', 'wrong'] as const) counter.inc({ reason }, 0);
  return (reason) => counter.inc({ reason });
}
