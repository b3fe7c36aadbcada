import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TUNING } from '../replication/config.js';
import { sealEnvelope } from '../replication/envelope.js';
import { loadSigningKey } from '../replication/keys.js';
import { StoreTopics } from '../replication/topics.js';
import { makeBenchDir } from './bench-dir.js';
import { makeCardPool } from './bench-cards.js';
import { roundTo } from './latency.js';
import { machineInfo } from './machine.js';
import { checkSeconds } from './options.js';
import { type BenchBroker, startBenchBroker } from './replication-broker.js';
import { BenchFleet, RAW_WINDOW, REPLICATOR_WINDOW } from './replication-fleet.js';
import { onInterrupt } from './replication-interrupt.js';
import { writeBurst, writePaced } from './replication-load.js';
import { type BrokerKind, DEFAULT_BROKER, DEFAULT_ENTRIES, DEFAULT_REPLICATION_SECONDS, checkBroker, checkEntries } from './replication-options.js';
import { measureQuorum } from './replication-quorum.js';
import { type RawResult, measureRaw } from './replication-raw.js';
import { CONVERGE_TIMEOUT_MS, runPhase, untilPeersOnline } from './replication-phases.js';
import { type ReplicationBenchReport, replicationTargets } from './replication-report.js';

export interface ReplicationBenchOptions {
  readonly broker?: BrokerKind;
  /** Seconds per timed phase (raw limit, raw paced, steady, quorum). */
  readonly seconds?: number;
  /** Entries per node in the burst. */
  readonly entries?: number;
  /** Parent directory for the nodes' data; default the OS temporary directory. */
  readonly dir?: string;
  readonly keep?: boolean;
  readonly progress?: (line: string) => void;
}

const NODES = ['lane-1', 'lane-2', 'lane-3'] as const;
const RAW_USER = 'bench-raw';
const FLEET = 'bench';
const STORE = 'store-1';
/**
 * Entries per second per node in the steady phase: well above a store's checkout pace, yet light
 * enough that the one thread hosting all three nodes keeps headroom (about half busy on 2 cores;
 * at 200/s their commits saturate it), so the lag is the replication path's rather than a queue's.
 */
const STEADY_RATE_PER_NODE = 50;
/** Like a lane box's group commit under a busy store: enough in flight to fill batches. */
const BURST_CONCURRENCY = 32;
const WARMUP_ENTRIES = 50;
const WARMUP_CONCURRENCY = 8;
const MAX_RAW_WARMUP_SECONDS = 0.5;
const CARD_POOL = 1_000;

/**
 * Three nodes of one store replicating through one broker, beside the broker's own limit: raw
 * mqtt.js QoS 1 with the same payload and window, then replication as fast as the journals allow
 * (throughput), at a steady rate (lag), and with quorum acknowledgement (its added latency).
 */
export async function runReplicationBench(options: ReplicationBenchOptions = {}): Promise<ReplicationBenchReport> {
  const kind = checkBroker(options.broker ?? DEFAULT_BROKER);
  const seconds = checkSeconds(options.seconds ?? DEFAULT_REPLICATION_SECONDS);
  const entries = checkEntries(options.entries ?? DEFAULT_ENTRIES);
  const keep = options.keep === true;
  const progress = options.progress ?? (() => undefined);
  const rawWarmupSeconds = Math.min(MAX_RAW_WARMUP_SECONDS, seconds / 4);
  const startedAt = new Date();
  const began = performance.now();

  const dir = makeBenchDir(options.dir);
  let broker: BenchBroker | undefined;
  let fleet: BenchFleet | undefined;
  const uninstall = onInterrupt(() => {
    broker?.killNow();
    if (!keep) rmSync(dir.path, { recursive: true, force: true });
  });
  try {
    progress(`data directory ${dir.path}`);
    const machine = machineInfo(dir.path);
    const passwords = Object.fromEntries([...NODES, RAW_USER].map((user) => [user, randomBytes(18).toString('base64url')]));
    progress(`starting ${kind} with the shipped ACL and per-node credentials`);
    broker = await startBenchBroker(kind, join(dir.path, 'broker'), passwords);
    fleet = new BenchFleet({ dir: dir.path, brokerUrl: broker.url, fleet: FLEET, store: STORE, nodeIds: NODES, passwords, cards: makeCardPool(CARD_POOL) });
    const first = fleet.nodes[0];
    if (first === undefined) throw new Error('no nodes');
    const payload = sealEnvelope(await fleet.authorize(first, 'envelope'), loadSigningKey(first.keys.signingKeyFile));

    const raw = { url: broker.url, username: RAW_USER, password: passwords[RAW_USER] ?? '', topic: `${new StoreTopics(FLEET, STORE).prefix}/${RAW_USER}/bench`, payload, window: RAW_WINDOW, warmupSeconds: rawWarmupSeconds, seconds };
    progress(`raw limit: mqtt.js QoS 1, ${payload.length}-byte payloads, window ${RAW_WINDOW} messages, ${seconds} s`);
    const limit = await measureRaw(raw);
    progress(`  ${rawLine(limit)}`);
    const rawPacedRate = STEADY_RATE_PER_NODE * (NODES.length - 1);
    progress(`raw paced at ${rawPacedRate} msgs/s (one peer's intake in the steady phase), ${seconds} s`);
    const paced = await measureRaw({ ...raw, ratePerSec: rawPacedRate });
    progress(`  ${rawLine(paced)}`);

    progress(`replication: starting ${NODES.length} replicators, warming up with ${WARMUP_ENTRIES} entries per node`);
    const nodes = fleet;
    nodes.startReplicators();
    await writeBurst(nodes, WARMUP_ENTRIES, WARMUP_CONCURRENCY, 'warmup');
    await nodes.waitConverged(CONVERGE_TIMEOUT_MS, 'after the warm-up');
    await untilPeersOnline(nodes);

    progress(`replication burst: ${entries} entries per node, ${BURST_CONCURRENCY} in flight per node, as fast as the journals allow`);
    const burst = await runPhase(nodes, 'burst', () => writeBurst(nodes, entries, BURST_CONCURRENCY, 'burst'), progress);
    progress(`replication catch-up: replicators stopped, ${entries} entries per node written, replicators started`);
    await nodes.stopReplicators();
    await writeBurst(nodes, entries, BURST_CONCURRENCY, 'backlog');
    const catchUp = await runPhase(nodes, 'catch-up', async () => {
      nodes.startReplicators();
      return { nodes: [], errors: 0, firstError: null };
    }, progress);
    await untilPeersOnline(nodes);
    progress(`replication steady: ${STEADY_RATE_PER_NODE} entries/s per node for ${seconds} s`);
    const steady = await runPhase(nodes, 'steady', () => writePaced(nodes, STEADY_RATE_PER_NODE, seconds, 'steady'), progress);

    progress(`quorum: the steady load again, each decision waiting for Replicator.awaitQuorum`);
    nodes.tracker.begin(performance.now());
    const quorum = await measureQuorum(nodes, STEADY_RATE_PER_NODE, seconds, async () => {
      await nodes.waitConverged(CONVERGE_TIMEOUT_MS, 'after the quorum phase');
      return nodes.tracker.intake();
    });
    if (quorum.measured) progress(`  added p50 ${quorum.addedLatency.p50Ms} ms, p99 ${quorum.addedLatency.p99Ms} ms, ${quorum.reached}/${quorum.decisions} reached`);

    const verified = nodes.verified();
    const rawResults = { limit, paced };
    const targets = replicationTargets(rawResults, burst, steady);
    return {
      bench: 'replication',
      startedAt: startedAt.toISOString(),
      durationSeconds: roundTo((performance.now() - began) / 1000, 1),
      machine,
      parameters: {
        broker: { kind, version: broker.version, config: kind === 'mosquitto' ? 'brokers/mosquitto.conf + brokers/acl (port and paths replaced)' : 'embedded, enforcing brokers/acl' },
        nodes: [...NODES],
        secondsPerPhase: seconds,
        rawWarmupSeconds,
        inflightWindow: REPLICATOR_WINDOW,
        payloadBytes: payload.length,
        burstEntriesPerNode: entries,
        burstConcurrencyPerNode: BURST_CONCURRENCY,
        steadyRatePerNodePerSec: STEADY_RATE_PER_NODE,
        rawPacedRatePerSec: rawPacedRate,
        publishTrigger: `each commit notifies its outbox, as the node's journal writer does (the outbox also polls every ${DEFAULT_TUNING.pollIdleMs} ms)`,
        warmupEntriesPerNode: WARMUP_ENTRIES,
        cardPool: CARD_POOL,
        process: `one Node.js thread runs all ${NODES.length} nodes (journal, authorizer, replicator)${kind === 'aedes' ? ' and the broker' : '; Mosquitto is a separate process'}, so one clock times every hop`,
      },
      dataDir: { path: dir.path, kept: keep },
      raw: rawResults,
      replication: { burst, catchUp, steady },
      quorum,
      delivery: {
        allReplicated: nodes.converged(),
        missing: nodes.missing(),
        verified,
        replicatorWarnings: nodes.log.warnings,
        replicatorErrors: nodes.log.errors,
        firstLogLines: [...nodes.log.first],
      },
      targets,
      meetsTarget: targets.throughput.meetsTarget && targets.lag.meetsTarget,
    };
  } finally {
    await fleet?.close();
    await broker?.stop();
    uninstall();
    dir.release(keep);
  }
}

function rawLine(result: RawResult): string {
  return `${result.msgsPerSec} msgs/s, p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms, lost ${result.lost}`;
}
