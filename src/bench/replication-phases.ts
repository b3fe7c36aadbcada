import { ratePerSecond, roundTo } from './latency.js';
import type { BenchFleet } from './replication-fleet.js';
import type { WriteResult } from './replication-load.js';
import type { ReplicationPhase } from './replication-report.js';
import { epochNowMs } from './epoch-now.js';
import type { PhaseIntake } from './replication-tracker.js';

/** A phase whose entries are not everywhere by then is reported as a failure, not waited for. */
export const CONVERGE_TIMEOUT_MS = 60_000;

/**
 * One load on the fleet, measured until every peer holds every entry it wrote: a phase's figures
 * include its drain, so entries still in flight at its end are neither lost nor credited to the next.
 */
export async function runPhase(fleet: BenchFleet, name: string, write: () => Promise<WriteResult>, progress: (line: string) => void): Promise<ReplicationPhase> {
  await fleet.collect();
  const from = epochNowMs();
  const busy = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  fleet.tracker.begin(from);
  const writes = await write();
  await fleet.waitConverged(CONVERGE_TIMEOUT_MS, `after the ${name} phase`);
  const elapsed = epochNowMs() - from;
  const used = process.cpuUsage(cpu);
  const mainThreadBusy = roundTo(performance.eventLoopUtilization(busy).utilization, 3);
  const collected = await fleet.collect();
  const intake = fleet.tracker.intake();
  const stored = intake.peers.reduce((sum, p) => sum + p.received, 0);
  const cpuCoresBusy = roundTo((used.user + used.system) / 1000 / elapsed, 2);
  const nodeThreadBusy = Object.fromEntries(fleet.nodes.map((node, i) => [node.id, roundTo(collected.busy[i] ?? 0, 3)]));
  const entriesPerMessage = collected.messages === 0 ? 0 : roundTo(collected.published / collected.messages, 1);
  progress(
    `  per peer ${intake.peers.map((p) => `${p.node} ${p.entriesPerSec}/s`).join(', ')}; ` +
      `lag p50 ${intake.lag.p50Ms} ms, p99 ${intake.lag.p99Ms} ms; ${entriesPerMessage} entries per message; ` +
      `cores busy ${cpuCoresBusy}, node threads ${Object.values(nodeThreadBusy).join('/')}, main ${mainThreadBusy}`,
  );
  return { writes, seconds: roundTo(elapsed / 1000, 3), aggregateEntriesPerSec: ratePerSecond(stored, elapsed), intake, entriesPerMessage, cpuCoresBusy, nodeThreadBusy, mainThreadBusy };
}

/** Takes the stores that arrived since the last phase into the tracker, then reads its intake. */
export async function collectedIntake(fleet: BenchFleet): Promise<PhaseIntake> {
  await fleet.collect();
  return fleet.tracker.intake();
}

/** Quorum counts only peers whose retained status says online: wait until every node sees them so. */
export async function untilPeersOnline(fleet: BenchFleet): Promise<void> {
  const deadline = performance.now() + CONVERGE_TIMEOUT_MS;
  const everyoneOnline = async (): Promise<boolean> => (await fleet.statuses()).every((s) => s.origins.filter((o) => o.online === true).length === fleet.nodes.length - 1);
  while (!(await everyoneOnline())) {
    if (performance.now() > deadline) throw new Error(`peers not seen online within ${CONVERGE_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
