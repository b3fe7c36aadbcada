import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TUNING } from '../replication/config.js';
import { sealEnvelope } from '../wire/envelope.js';
import { loadSigningKey } from '../wire/keys.js';
import { StoreTopics } from '../wire/topics.js';
import { makeRunDir } from '../rigs/run-dir.js';
import { makeCardPool } from './bench-cards.js';
import { roundTo } from './latency.js';
import { machineInfo } from './machine.js';
import { checkSeconds } from './options.js';
import { type BenchBroker, startBenchBroker } from './replication-broker.js';
import { epochNowMs } from './epoch-now.js';
import { BenchFleet, RAW_WINDOW, REPLICATOR_WINDOW } from './replication-fleet.js';
import { onInterrupt } from './replication-interrupt.js';
import { writeBurst, writePaced } from './replication-load.js';
import { type BrokerKind, DEFAULT_BROKER, DEFAULT_ENTRIES, DEFAULT_REPLICATION_SECONDS, checkBroker, checkEntries } from './replication-options.js';
import { measureQuorum } from './replication-quorum.js';
import { type RawResult, measureRaw } from './replication-raw.js';
import { measureFleetRaw } from './replication-raw-fleet.js';
import { CONVERGE_TIMEOUT_MS, collectedIntake, runPhase, untilPeersOnline } from './replication-phases.js';
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
 * enough that the nodes sharing 2 cores keep headroom, so the lag is the replication path's rather
 * than a queue's.
 */
const STEADY_RATE_PER_NODE = 50;
/** Like a lane box's group commit under a busy store: enough in flight to fill batches. */
const BURST_CONCURRENCY = 32;
/** Enough for each node's thread to have its hot paths compiled before the burst is timed. */
const WARMUP_ENTRIES = 2_000;
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

  const dir = makeRunDir(options.dir);
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
    // The raw measurement's `bench` leaf is in no store's ACL: granted here only, to its publishers and readers.
    const prefix = new StoreTopics(FLEET, STORE).prefix;
    const rawGrants = [...NODES, RAW_USER].flatMap((user) => [`user ${user}`, `topic write ${prefix}/${user}/bench`, `topic read ${prefix}/+/bench`]);
    broker = await startBenchBroker(kind, join(dir.path, 'broker'), passwords, { fleet: FLEET, store: STORE, extraLines: rawGrants });
    fleet = await BenchFleet.start({ dir: dir.path, brokerUrl: broker.url, fleet: FLEET, store: STORE, nodeIds: NODES, passwords, cards: makeCardPool(CARD_POOL) });
    const first = fleet.nodes[0];
    if (first === undefined) throw new Error('no nodes');
    const payload = sealEnvelope(await fleet.sampleEntry(first), loadSigningKey(first.keys.signingKeyFile));

    const raw = {
      url: broker.url,
      username: RAW_USER,
      password: passwords[RAW_USER] ?? '',
      topic: `${new StoreTopics(FLEET, STORE).prefix}/${RAW_USER}/bench`,
      payload,
      window: RAW_WINDOW,
      warmupSeconds: rawWarmupSeconds,
      seconds,
    };
    progress(`raw limit: mqtt.js QoS 1, ${payload.length}-byte payloads, window ${RAW_WINDOW} messages, ${seconds} s`);
    const limit = await measureRaw(raw);
    progress(`  ${rawLine(limit)}`);
    const rawPacedRate = STEADY_RATE_PER_NODE * (NODES.length - 1);
    progress(`raw paced at ${rawPacedRate} msgs/s (one peer's intake in the steady phase), ${seconds} s`);
    const paced = await measureRaw({ ...raw, ratePerSec: rawPacedRate });
    progress(`  ${rawLine(paced)}`);

    progress(`raw limit in the fleet's shape: each node's thread publishing and receiving its ${NODES.length - 1} peers' streams at once, ${seconds} s`);
    const fleetRaw = await measureFleetRaw(fleet, { url: broker.url, passwords, prefix: new StoreTopics(FLEET, STORE).prefix, payload, window: RAW_WINDOW, warmupSeconds: rawWarmupSeconds, seconds });
    progress(`  slowest node ${fleetRaw.slowestMsgsPerSec} msgs/s received (${fleetRaw.nodes.map((n) => `${n.node} ${n.msgsPerSec}`).join(', ')}), p99 ${fleetRaw.latency.p99Ms} ms, lost ${fleetRaw.lost}`);

    progress(`replication: starting ${NODES.length} replicators, warming up with ${WARMUP_ENTRIES} entries per node (the JIT of every thread, the caches)`);
    const nodes = fleet;
    await nodes.startReplicators();
    await writeBurst(nodes, WARMUP_ENTRIES, BURST_CONCURRENCY, 'warmup');
    await nodes.waitConverged(CONVERGE_TIMEOUT_MS, 'after the warm-up');
    await untilPeersOnline(nodes);

    progress(`replication burst: ${entries} entries per node, ${BURST_CONCURRENCY} in flight per node, as fast as the journals allow`);
    const burst = await runPhase(nodes, 'burst', () => writeBurst(nodes, entries, BURST_CONCURRENCY, 'burst'), progress);
    progress(`replication catch-up: replicators stopped, ${entries} entries per node written, replicators started`);
    await nodes.stopReplicators();
    await writeBurst(nodes, entries, BURST_CONCURRENCY, 'backlog');
    const catchUp = await runPhase(
      nodes,
      'catch-up',
      async () => {
        await nodes.startReplicators();
        return { nodes: [], errors: 0, firstError: null };
      },
      progress,
    );
    await untilPeersOnline(nodes);
    progress(`replication steady: ${STEADY_RATE_PER_NODE} entries/s per node for ${seconds} s`);
    const steady = await runPhase(nodes, 'steady', () => writePaced(nodes, STEADY_RATE_PER_NODE, seconds, 'steady'), progress);

    progress(`quorum: the steady load again, each decision waiting for Replicator.awaitQuorum`);
    await nodes.collect();
    nodes.tracker.begin(epochNowMs());
    const quorum = await measureQuorum(nodes, STEADY_RATE_PER_NODE, seconds, async () => {
      await nodes.waitConverged(CONVERGE_TIMEOUT_MS, 'after the quorum phase');
      return collectedIntake(nodes);
    });
    progress(`  added p50 ${quorum.addedLatency.p50Ms} ms, p99 ${quorum.addedLatency.p99Ms} ms, ${quorum.reached}/${quorum.decisions} reached`);

    const verified = await nodes.verified();
    const allReplicated = await nodes.converged();
    const log = await nodes.logs();
    const rawResults = { fleet: fleetRaw, limit, paced };
    const replication = { burst, catchUp, steady };
    const targets = replicationTargets(rawResults, replication);
    return {
      bench: 'replication',
      startedAt: startedAt.toISOString(),
      durationSeconds: roundTo((performance.now() - began) / 1000, 1),
      machine,
      parameters: {
        broker: {
          kind,
          version: broker.version,
          config: kind === 'mosquitto' ? 'brokers/mosquitto.conf + the store ACL from brokers/acl.template (port and paths replaced)' : 'embedded, enforcing the store ACL from brokers/acl.template',
        },
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
        process: `each node (journal, stand-in, replicator) in a worker thread of its own, ${machine.cpus} cores for all ${NODES.length}${kind === 'aedes' ? ' and the broker on the main thread' : '; Mosquitto is a separate process'}; every thread reads one epoch-based monotonic clock`,
      },
      dataDir: { path: dir.path, kept: keep },
      raw: rawResults,
      replication,
      quorum,
      delivery: {
        allReplicated,
        missing: nodes.missing(),
        verified,
        replicatorWarnings: log.warnings,
        replicatorErrors: log.errors,
        firstLogLines: [...log.first],
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
