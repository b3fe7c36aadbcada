import { LatencyRecorder, type LatencySummary, ratePerSecond, roundTo } from './latency.js';
import type { RawStreamsReceived, RawStreamsSent } from './replication-raw-streams.js';
import type { BenchFleet } from './replication-fleet.js';

export interface FleetRawOptions {
  readonly url: string;
  /** node id → broker password */
  readonly passwords: Readonly<Record<string, string>>;
  /** The store's topic prefix; each node publishes on `<prefix>/<node>/bench`, under its own ACL. */
  readonly prefix: string;
  readonly payload: Buffer;
  readonly window: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

export interface FleetRawNode {
  readonly node: string;
  /** Measured messages received from all its peers. */
  readonly messages: number;
  readonly msgsPerSec: number;
  readonly latency: LatencySummary;
  readonly lost: number;
}

export interface FleetRawResult {
  readonly window: number;
  readonly payloadBytes: number;
  readonly nodes: readonly FleetRawNode[];
  /** The slowest node's intake: the figure replication's slowest peer is held against. */
  readonly slowestMsgsPerSec: number;
  readonly latency: LatencySummary;
  readonly lost: number;
}

const DRAIN_TIMEOUT_MS = 5_000;

/**
 * The raw limit in the fleet's own shape: every node's thread publishes its QoS 1 stream as fast as
 * the window allows and receives the other nodes' streams, all at once through the one broker, as
 * replication does, and nothing else (no journal, no signature, no replica commit).
 */
export async function measureFleetRaw(fleet: BenchFleet, options: FleetRawOptions): Promise<FleetRawResult> {
  const topicOf = (node: string): string => `${options.prefix}/${node}/bench`;
  const ids = fleet.nodes.map((n) => n.id);
  try {
    await Promise.all(
      fleet.nodes.map((node) =>
        node.box.request({
          type: 'raw-open',
          plan: {
            url: options.url,
            username: node.id,
            password: options.passwords[node.id] ?? '',
            topic: topicOf(node.id),
            peerTopics: ids.filter((id) => id !== node.id).map(topicOf),
            payload: options.payload,
            window: options.window,
            warmupSeconds: options.warmupSeconds,
            seconds: options.seconds,
          },
        }),
      ),
    );
    const sent = (await Promise.all(fleet.nodes.map((node) => node.box.request({ type: 'raw-send' })))) as RawStreamsSent[];
    const totalSent = sent.reduce((sum, s) => sum + s.total, 0);
    const received = (await Promise.all(fleet.nodes.map((node, i) => node.box.request({ type: 'raw-received', expected: totalSent - (sent[i]?.total ?? 0), timeoutMs: DRAIN_TIMEOUT_MS })))) as RawStreamsReceived[];
    const all = new LatencyRecorder();
    const nodes = received.map((r, i) => {
      const own = new LatencyRecorder();
      for (const ms of r.latencyMs) {
        own.add(ms);
        all.add(ms);
      }
      return { node: ids[i] ?? '', messages: r.messages, msgsPerSec: ratePerSecond(r.messages, r.seconds * 1000), latency: own.summary(), lost: r.lost };
    });
    return {
      window: options.window,
      payloadBytes: options.payload.length,
      nodes,
      slowestMsgsPerSec: roundTo(Math.min(...nodes.map((n) => n.msgsPerSec)), 1),
      latency: all.summary(),
      lost: nodes.reduce((sum, n) => sum + n.lost, 0),
    };
  } finally {
    await Promise.allSettled(fleet.nodes.map((node) => node.box.request({ type: 'raw-close' })));
  }
}
