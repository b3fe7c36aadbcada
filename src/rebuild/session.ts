import type { KeyObject } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { KeyRing } from '../wire/keys.js';
import type { ReplicationLog } from '../platform/replication-log.js';
import { type NodeStatus, openStatus, sealRepairRequest } from '../wire/messages.js';
import type { RebuildCollector } from './collector.js';
import type { StoreTopics } from '../wire/topics.js';

export interface RebuildTuning {
  /** Entries asked for per request; peers answer at most their maxRepairEntries (256 by default) anyway. */
  readonly chunkEntries: number;
  /** An unanswered or partly answered request is sent again after this long. */
  readonly retryMs: number;
  /** No new entry for this long, with a request for the next ones outstanding: the peers hold no more. */
  readonly quietMs: number;
  readonly tickMs: number;
  readonly connectTimeoutMs: number;
}

export const DEFAULT_REBUILD_TUNING: RebuildTuning = { chunkEntries: 256, retryMs: 1_000, quietMs: 3_000, tickMs: 50, connectTimeoutMs: 10_000 };

/** Why collecting stopped: `quiet` is the only ending that says the peers have nothing more. */
export type SessionEnd = 'quiet' | 'timeout' | 'fork' | 'link_lost';

export interface SessionResult {
  readonly end: SessionEnd;
  readonly requests: number;
  /** Retained statuses seen, by node id: the node's own (its last announced head) and its peers'. */
  readonly statuses: ReadonlyMap<string, NodeStatus>;
}

/** What collecting needs of a broker link: the rebuild's own MQTT client, or a simulated one. */
export interface RebuildTransport {
  /** Attaches a handler for every message; returns its detach. */
  onMessage(handler: (topic: string, payload: Buffer) => void): () => void;
  /** Attaches a handler for the link's loss; returns its detach. */
  onClose(handler: () => void): () => void;
  publish(topic: string, payload: Buffer): Promise<unknown>;
}

/** Time for collecting: the machine's, or a simulation's. */
export interface RebuildTimer {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const realRebuildTimer: RebuildTimer = {
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The rebuild's MQTT client as a transport: requests at QoS 1. */
export function mqttRebuildTransport(client: MqttClient): RebuildTransport {
  return {
    onMessage: (handler) => {
      client.on('message', handler);
      return () => client.off('message', handler);
    },
    onClose: (handler) => {
      client.on('close', handler);
      return () => client.off('close', handler);
    },
    publish: (topic, payload) => client.publishAsync(topic, payload, { qos: 1 }),
  };
}

/**
 * How far collecting is, for a progress display. `collected`: entries of the chain after the base
 * (verified, linked, in order; it never goes down). `total`: the entries after the base up to the
 * node's last announced head, once its retained status has come; null before, or if it never
 * announced one. The announced head is a lower bound, not the end: a last will carries the head of
 * the node's last connect, so `collected` may pass it, and collecting goes on until the peers have
 * no more (the peers' own statuses carry their own heads, not their replicas').
 */
export type CollectProgress = (collected: number, total: number | null) => void;

export interface SessionOptions {
  readonly nodeId: string;
  readonly topics: StoreTopics;
  readonly transport: RebuildTransport;
  readonly timer: RebuildTimer;
  readonly collector: RebuildCollector;
  /** Statuses are taken only from these nodes (the node itself and its configured peers). */
  readonly known: ReadonlySet<string>;
  /** Statuses count only if signed by their node with the key pinned here. */
  readonly keys: KeyRing;
  /** The node's signing key: peers answer only repair requests signed by their requester. */
  readonly signingKey: KeyObject;
  readonly tuning: RebuildTuning;
  readonly deadlineMs: number;
  readonly log: ReplicationLog;
  /**
   * Subscribes the client; called once the message handler is attached, because a broker sends
   * the retained statuses right behind its SUBACK, in the same read as often as not.
   */
  readonly subscribe: () => Promise<void>;
  /** Called whenever the count or the total changed, at most once a tick. */
  readonly onProgress?: CollectProgress;
}

/**
 * Asks the store for the node's own entries, chunk by chunk, on its own repair topic: every peer
 * subscribes to every node's repair topic and answers from its replica into the requester's
 * inbox, and the requester here is the origin itself. The next chunk goes out as soon as the last
 * one is in; a request is repeated while answers are missing; collecting ends when a request past
 * the chain's head has stayed unanswered for the quiet period.
 */
export async function collectFromPeers(options: SessionOptions): Promise<SessionResult> {
  const { transport, timer, collector, topics, nodeId, tuning, log } = options;
  const statuses = new Map<string, NodeStatus>();
  let linkLost = false;
  const onClose = () => {
    linkLost = true;
  };
  const onMessage = (topic: string, payload: Buffer) => {
    const parsed = topics.parse(topic);
    if (parsed?.leaf === 'inbox' && parsed.node === nodeId) collector.offer(payload);
    else if (parsed?.leaf === 'status' && options.known.has(parsed.node) && payload.byteLength > 0) {
      const status = openStatus(payload, parsed.node, options.keys);
      if (status.ok) statuses.set(parsed.node, status.message);
    }
  };
  const detach = [transport.onMessage(onMessage), transport.onClose(onClose)];
  const detachAll = (): void => {
    for (const off of detach) off();
  };
  let requests = 0;
  try {
    await options.subscribe();
  } catch (error) {
    detachAll();
    throw error;
  }
  let sent: { toSeq: number; atMs: number } | undefined;
  let seen = collector.tally().verified;
  let progressAtMs = timer.nowMs();
  let reported: { collected: number; total: number | null } | undefined;
  const report = (): void => {
    if (options.onProgress === undefined) return;
    const own = statuses.get(nodeId);
    const collected = collector.headSeq - collector.base.seq;
    const total = own === undefined ? null : Math.max(0, own.headSeq - collector.base.seq);
    if (reported?.collected === collected && reported.total === total) return;
    reported = { collected, total };
    options.onProgress(collected, total);
  };
  try {
    for (;;) {
      const now = timer.nowMs();
      const verified = collector.tally().verified;
      if (verified !== seen) {
        seen = verified;
        progressAtMs = now;
      }
      report();
      if (collector.firstFork() !== undefined) return { end: 'fork', requests, statuses };
      if (linkLost) return { end: 'link_lost', requests, statuses };
      if (sent !== undefined && sent.atMs >= progressAtMs && now - progressAtMs >= tuning.quietMs) return { end: 'quiet', requests, statuses };
      if (now >= options.deadlineMs) return { end: 'timeout', requests, statuses };
      const head = collector.headSeq;
      if (sent === undefined || head >= sent.toSeq || now - sent.atMs >= tuning.retryMs) {
        const range = { fromSeq: head + 1, toSeq: head + tuning.chunkEntries };
        sent = { toSeq: range.toSeq, atMs: now };
        requests++;
        log.debug({ origin: nodeId, ...range }, 'asking the peers for entries');
        transport.publish(topics.repair(nodeId), sealRepairRequest({ requester: nodeId, origin: nodeId, ...range }, options.signingKey)).catch((error: unknown) => {
          log.debug({ err: error }, 'repair request not acknowledged; it is repeated');
        });
      }
      await timer.sleep(tuning.tickMs);
    }
  } finally {
    detachAll();
  }
}
