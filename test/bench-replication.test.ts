import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runReplicationBench } from '../src/bench/replication-bench.js';
import type { RawResult } from '../src/bench/replication-raw.js';
import type { ReplicationBenchReport, ReplicationPhase } from '../src/bench/replication-report.js';
import type { PhaseIntake } from '../src/bench/replication-tracker.js';
import type { WriteResult } from '../src/bench/replication-load.js';
import { checkBroker, checkEntries } from '../src/bench/replication-options.js';

/*
 * The replication bench's shape and completeness, not its speed: timing targets belong to bench
 * runs on the machine that matters, not to a test that a loaded CI box would fail.
 */
describe('bench replication: raw mqtt.js limit, then three nodes replicating through one broker', () => {
  it('reports every phase and every entry reaches every peer', async () => {
    const progress: string[] = [];
    const report = await runReplicationBench({ broker: 'aedes', seconds: 0.3, entries: 40, progress: (line) => progress.push(line) });

    expect(report).toMatchObject({
      bench: 'replication',
      parameters: { broker: { kind: 'aedes' }, nodes: ['lane-1', 'lane-2', 'lane-3'], secondsPerPhase: 0.3, burstEntriesPerNode: 40, inflightWindow: 1_024 },
      dataDir: { kept: false },
    });
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(existsSync(report.dataDir.path)).toBe(false);
    // The raw payload is a real signed envelope: about 1 KiB with its sealed card.
    expect(report.parameters.payloadBytes).toBeGreaterThan(500);

    expectRaw(report.raw.limit, report, null);
    // The fleet-shaped limit: every node received every message its peers published, each timed.
    const fleetRaw = report.raw.fleet;
    expect(fleetRaw).toMatchObject({ window: 64, payloadBytes: report.parameters.payloadBytes, lost: 0 });
    expect(fleetRaw.nodes.map((n) => n.node)).toEqual(['lane-1', 'lane-2', 'lane-3']);
    for (const node of fleetRaw.nodes) {
      expect(node.messages).toBeGreaterThan(0);
      expect(node.latency.count).toBe(node.messages);
      expect(node.lost).toBe(0);
    }
    expect(fleetRaw.slowestMsgsPerSec).toBe(Math.min(...fleetRaw.nodes.map((n) => n.msgsPerSec)));
    expect(fleetRaw.latency.count).toBe(fleetRaw.nodes.reduce((sum, n) => sum + n.messages, 0));
    expectRaw(report.raw.paced, report, report.parameters.rawPacedRatePerSec);

    const { burst, catchUp, steady } = report.replication;
    // The backlog written while the replicators were stopped reaches every peer once they start.
    expect(catchUp.intake.peers.map((p) => p.received)).toEqual([80, 80, 80]);
    expect(catchUp.intake.unmatched).toBe(0);
    expect(burst.writes.nodes.map((n) => n.written)).toEqual([40, 40, 40]);
    expectEveryPeerHoldsEverything(burst.writes, burst.intake);
    expectEveryPeerHoldsEverything(steady.writes, steady.intake);
    for (const phase of [burst, steady]) {
      expect(phase.cpuCoresBusy).toBeGreaterThan(0);
      expect(phase.entriesPerMessage).toBeGreaterThanOrEqual(1);
      expect(Object.keys(phase.nodeThreadBusy)).toEqual(['lane-1', 'lane-2', 'lane-3']);
      for (const busy of Object.values(phase.nodeThreadBusy)) expect(busy).toBeGreaterThan(0);
      expect(phase.aggregateEntriesPerSec).toBeGreaterThan(0);
    }

    const quorum = report.quorum;
    expectEveryPeerHoldsEverything(quorum.writes, quorum.intake);
    const written = quorum.writes.nodes.reduce((sum, n) => sum + n.written, 0);
    expect(written).toBeGreaterThan(0);
    expect(quorum.decisions).toBe(written);
    expect(quorum.reached + quorum.localOnly).toBe(quorum.decisions);
    expect(quorum.addedLatency.count).toBe(quorum.decisions);

    expect(report.delivery).toMatchObject({ allReplicated: true, missing: 0, verified: true, replicatorErrors: 0 });
    expectTargets(report);
    expect(progress.some((line) => line.startsWith('raw limit:'))).toBe(true);
    expect(progress.some((line) => line.startsWith('replication burst:'))).toBe(true);
  });

  it('refuses an unknown broker and an out-of-range entry count, naming the option', () => {
    expect(() => checkBroker('rabbitmq')).toThrow(/--broker: "rabbitmq" is not allowed; use one of aedes, mosquitto/);
    expect(() => checkEntries(5)).toThrow(/--entries: 5 is not allowed/);
    expect(checkEntries(10)).toBe(10);
  });
});

function expectRaw(result: RawResult, report: ReplicationBenchReport, offered: number | null): void {
  expect(result).toMatchObject({ window: 64, payloadBytes: report.parameters.payloadBytes, offeredPerSec: offered, lost: 0 });
  expect(result.messages).toBeGreaterThan(0);
  expect(result.latency.count).toBe(result.messages);
  expect(result.latency.p99Ms).toBeGreaterThanOrEqual(result.latency.p50Ms);
  expect(result.msgsPerSec).toBeGreaterThan(0);
}

/** Each peer stored exactly the other nodes' entries of the phase, each with a commit time. */
function expectEveryPeerHoldsEverything(writes: WriteResult, intake: PhaseIntake): void {
  expect(writes.errors).toBe(0);
  expect(intake.unmatched).toBe(0);
  const total = writes.nodes.reduce((sum, n) => sum + n.written, 0);
  expect(total).toBeGreaterThan(0);
  expect(intake.peers.map((p) => p.node)).toEqual(writes.nodes.map((n) => n.node));
  for (const peer of intake.peers) {
    const own = writes.nodes.find((n) => n.node === peer.node)?.written ?? 0;
    expect(peer.received).toBe(total - own);
    expect(peer.lag.count).toBe(peer.received);
  }
  expect(intake.lag.count).toBe(intake.peers.reduce((sum, p) => sum + p.received, 0));
}

function expectTargets(report: ReplicationBenchReport): void {
  const { throughput, throughputWithWrites, throughputVsPair, lag, lagAtSameRate } = report.targets;
  const slowest = (phase: ReplicationPhase): number => Math.min(...phase.intake.peers.map((p) => p.entriesPerSec));
  expect(throughput).toMatchObject({ measured: slowest(report.replication.catchUp), reference: report.raw.fleet.slowestMsgsPerSec });
  expect(throughputWithWrites).toMatchObject({ measured: slowest(report.replication.burst), reference: report.raw.fleet.slowestMsgsPerSec });
  expect(throughputVsPair).toMatchObject({ measured: slowest(report.replication.catchUp), reference: report.raw.limit.msgsPerSec });
  expect(lag.measured).toBe(report.replication.steady.intake.lag.p99Ms);
  expect(lag.reference).toBe(report.raw.limit.latency.p99Ms);
  expect(lagAtSameRate.reference).toBe(report.raw.paced.latency.p99Ms);
  for (const target of [throughput, throughputWithWrites, throughputVsPair, lag, lagAtSameRate]) {
    expect(typeof target.meetsTarget).toBe('boolean');
    expect(target.ratio).toBeGreaterThan(0);
  }
  expect(throughput.meetsTarget).toBe(throughput.ratio >= 0.5);
  expect(lag.meetsTarget).toBe(lag.ratio <= 2);
  expect(report.meetsTarget).toBe(throughput.meetsTarget && lag.meetsTarget);
}
