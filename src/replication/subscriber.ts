import { type Clock, monotonicMs } from '../platform/clock.js';
import type { Counters, RejectReason } from './counters.js';
import { openMessage } from './envelope.js';
import type { KeyRing } from './keys.js';
import type { ReplicationLog } from './log.js';
import { type NodeStatus, encodeRepairRequest, parseRepairRequest, parseStatus } from './messages.js';
import type { MqttPort } from './port.js';
import type { RepairAnswerer } from './repair-answerer.js';
import type { RepairPlanner } from './repair-planner.js';
import type { ReplicaStore } from './replica-store.js';
import type { StoreTopics } from './topics.js';

export interface SubscriberOptions {
  readonly nodeId: string;
  readonly topics: StoreTopics;
  readonly keys: KeyRing;
  readonly store: ReplicaStore;
  readonly answerer: RepairAnswerer;
  readonly planner: RepairPlanner;
  readonly port: MqttPort;
  readonly counters: Counters;
  readonly clock: Clock;
  readonly log: ReplicationLog;
  /** A peer says it holds this node's entries up to `seq` (quorum acknowledgement). */
  readonly onAck?: (peer: string, seq: number) => void;
  /** A peer showed it is alive at `atMs` (its own entry, ack or online status): liveness for custody. */
  readonly onHeard?: (peer: string, atMs: number) => void;
  /**
   * A peer's status turned online (first heard, or back from offline). It may have read this node's
   * retained status just before a newer one replaced it, so this node says its head again.
   */
  readonly onPeerOnline?: (peer: string) => void;
  /** Signed rule updates from the store's rules topic; absent when the node has no rules public key. */
  readonly rules?: { receive(payload: Buffer): void };
}

/**
 * Receives the store's traffic: peers' entries (verified, then appended to their replicas), their
 * statuses (their acknowledged heads), repair requests (answered from what this node holds),
 * repair answers in its own inbox, and the store's signed rules. `handle` is synchronous and runs
 * before the client acknowledges the message, so a PUBACK always follows the replica's commit (or
 * the accepted rules' write).
 */
export class Subscriber {
  private readonly statuses = new Map<string, NodeStatus>();

  constructor(private readonly options: SubscriberOptions) {}

  /** Subscription filters, all QoS 1. Every journal topic includes this node's own, which handle ignores. */
  filters(): string[] {
    const { topics, nodeId, rules } = this.options;
    const filters = [topics.everyNode('journal'), topics.everyNode('status'), topics.everyNode('repair'), topics.everyNode('ack'), topics.inbox(nodeId)];
    return rules === undefined ? filters : [...filters, topics.rules()];
  }

  /** Peers' last announced status, by node id. */
  peerStatuses(): ReadonlyMap<string, NodeStatus> {
    return this.statuses;
  }

  handle(topic: string, payload: Buffer): void {
    if (topic === this.options.topics.rules()) return this.options.rules?.receive(payload);
    const parsed = this.options.topics.parse(topic);
    if (parsed === undefined) return;
    const { node, leaf } = parsed;
    switch (leaf) {
      case 'journal':
        if (node !== this.options.nodeId) this.receiveEntry(payload, node);
        return;
      case 'inbox':
        if (node === this.options.nodeId) this.receiveEntry(payload, undefined);
        return;
      case 'status':
        this.receiveStatus(payload, node);
        return;
      case 'repair':
        this.receiveRepairRequest(payload, node);
        return;
      case 'ack':
        this.receiveAck(payload, node);
        return;
    }
  }

  private receiveAck(payload: Buffer, node: string): void {
    if (node === this.options.nodeId || !this.options.keys.has(node)) return;
    const ack = parseAck(payload);
    if (ack === undefined) return this.reject('malformed', 'ack message', { topicNode: node });
    this.options.onHeard?.(node, this.options.clock.wallMs());
    // Acks about other origins are for them; only this node's own entries concern it here.
    if (ack.origin === this.options.nodeId) this.options.onAck?.(node, ack.seq);
  }

  /** Periodic: asks for whatever is still missing (lost answers, lag behind an advertised head). */
  tick(): void {
    const origins = new Set([...this.statuses.keys(), ...this.options.store.origins()]);
    for (const origin of origins) this.repairIfBehind(origin);
  }

  /**
   * `topicNode` is the journal topic's node; undefined for the inbox, which carries any origin.
   * Either message is one entry or a run of them (see envelope.ts).
   */
  private receiveEntry(payload: Buffer, topicNode: string | undefined): void {
    const opened = openMessage(payload, this.options.keys);
    if (!opened.ok) return this.reject(opened.reason, opened.detail, { origin: opened.origin, seq: opened.seq, topicNode });
    const { origin, entries } = opened;
    const firstSeq = entries[0]!.seq;
    if (topicNode !== undefined && origin !== topicNode) {
      return this.reject('wrong_topic', `entry of ${origin} on ${topicNode}'s journal topic`, { origin, seq: firstSeq, topicNode });
    }
    if (origin === this.options.nodeId) return;
    if (topicNode === origin) this.options.onHeard?.(origin, this.options.clock.wallMs());
    const { store, counters } = this.options;
    const before = store.head(origin).seq;
    const results = store.appendAll(entries);
    results.forEach((result, i) => {
      // Conflicts are counted and logged by the store's onConflict hook, drained ones included.
      if (result !== 'stored' && result !== 'conflict') counters.increment(result);
      if (result === 'pending_full') this.options.log.warn({ origin, seq: entries[i]!.seq, pending: store.pendingCount }, 'pending buffer full; entry dropped until repaired');
    });
    const stored = store.head(origin).seq - before;
    if (stored > 0) counters.increment('stored', stored);
    this.repairIfBehind(origin);
  }

  /** The highest contiguous entry of `origin` held here, announced for the origin's quorum. */
  static ackPayload(origin: string, seq: number): Buffer {
    return Buffer.from(JSON.stringify({ v: 1, origin, seq }));
  }

  private receiveStatus(payload: Buffer, node: string): void {
    // An empty retained message clears a status; nothing to learn from it.
    if (payload.byteLength === 0 || node === this.options.nodeId || !this.options.keys.has(node)) return;
    const status = parseStatus(payload);
    if (status === undefined || status.nodeId !== node) return this.reject('malformed', 'status message', { topicNode: node });
    const before = this.statuses.get(node);
    this.statuses.set(node, status);
    if (status.online && before?.online !== true) this.options.onPeerOnline?.(node);
    // The sender's own stamp, not the arrival: a retained "online" from a box that died without its
    // will firing must not look alive each time this node reconnects.
    if (status.online) this.options.onHeard?.(node, status.wallMs);
    this.repairIfBehind(node);
  }

  private receiveRepairRequest(payload: Buffer, node: string): void {
    const request = parseRepairRequest(payload);
    if (request === undefined || request.origin !== node) return this.reject('malformed', 'repair request', { topicNode: node });
    this.options.answerer.answer(request);
  }

  private repairIfBehind(origin: string): void {
    const { store, planner, clock, topics, port, nodeId } = this.options;
    if (origin === nodeId || !port.connected) return;
    const head = store.head(origin).seq;
    const gap = store.gap(origin);
    const target = gap?.toSeq ?? this.statuses.get(origin)?.headSeq ?? head;
    const range = planner.plan(origin, head, target, monotonicMs(clock), gap !== undefined);
    if (range === undefined) return;
    const request = encodeRepairRequest({ v: 1, origin, fromSeq: range.fromSeq, toSeq: range.toSeq, requester: nodeId });
    this.options.counters.increment('repair_requested');
    this.options.log.debug({ origin, ...range }, 'asking for missing entries');
    port.publish(topics.repair(origin), request, { qos: 1 }).catch((error: unknown) => {
      this.options.log.debug({ err: error, origin }, 'repair request not acknowledged; will retry');
    });
  }

  private reject(reason: RejectReason, detail: string, fields: Record<string, unknown>): void {
    this.options.counters.increment(reason);
    this.options.log.warn({ reason, ...fields }, `rejected: ${detail}`);
  }
}

function parseAck(payload: Buffer): { origin: string; seq: number } | undefined {
  if (payload.byteLength > 512) return undefined;
  try {
    const value = JSON.parse(payload.toString('utf8')) as { v?: unknown; origin?: unknown; seq?: unknown };
    if (value.v !== 1 || typeof value.origin !== 'string' || typeof value.seq !== 'number' || !Number.isSafeInteger(value.seq) || value.seq < 0) return undefined;
    return { origin: value.origin, seq: value.seq };
  } catch {
    return undefined;
  }
}
