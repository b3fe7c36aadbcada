import type { KeyObject } from 'node:crypto';
import { type Clock, monotonicMs } from '../../platform/clock.js';
import { type ControlKind, type ControlRefusal, type Counters, type RejectReason, controlCounter } from '../../wire/counters.js';
import { openMessage } from '../../wire/envelope.js';
import type { KeyRing } from '../../wire/keys.js';
import type { ReplicationLog } from '../../platform/replication-log.js';
import { type NodeStatus, openAck, openRepairRequest, openStatus, sealRepairRequest } from '../../wire/messages.js';
import type { MqttPort } from '../broker/port.js';
import type { RepairAnswerer } from '../repair/repair-answerer.js';
import type { RepairPlanner } from '../repair/repair-planner.js';
import type { ReplicaStore } from './replica-store.js';
import { StatusFreshness, isFutureDated, isUsableOwnStatus } from '../peers/status-order.js';
import type { StoreTopics } from '../../wire/topics.js';

/** A refusal is logged at warn the first time and every this many after; the counter has them all. */
const WARN_EVERY = 1_000;

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
  /** This node's own key: its repair requests are signed, as peers answer only verified ones. */
  readonly signingKey: KeyObject;
  /** A peer says, signed with its own key, that it holds this node's entries up to `seq` (quorum acknowledgement). */
  readonly onAck?: (peer: string, seq: number) => void;
  /**
   * A peer showed it is alive at `atMs` (a new entry of its own, or a signed ack or online status,
   * never dated after this node's now): liveness for custody.
   */
  readonly onHeard?: (peer: string, atMs: number) => void;
  /** This node's own retained status, verified: where its previous process left its status order. */
  readonly onOwnStatus?: (status: NodeStatus) => void;
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
 * statuses (their acknowledged heads), their acks, repair requests (answered from what this node
 * holds), repair answers in its own inbox, and the store's signed rules. Statuses, acks and repair
 * requests count only if signed by the node whose topic they came on (control-codec.ts); anything
 * else is refused and counted. `handle` is synchronous and runs before the client acknowledges the
 * message, so a PUBACK always follows the replica's commit (or the accepted rules' write).
 */
export class Subscriber {
  /** The last status accepted from each peer. */
  private readonly statuses = new Map<string, NodeStatus>();
  private readonly freshness = new StatusFreshness();
  /**
   * The head each peer announced: set by its accepted statuses, and only raised by those ignored as
   * older (a head is signed by its node, so a replay can never lower or invent one). A node whose
   * clock was stepped back across a restart keeps being repaired while its statuses look old.
   */
  private readonly announcedHeads = new Map<string, number>();

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

  /**
   * `retained`: the broker kept the message and hands it over because of a (re)subscription. Only
   * statuses and the rules are retained on purpose; the broker cannot refuse the retain flag per
   * topic (Mosquitto 2.0's ACL has no such right), so anything else retained is ignored here.
   */
  handle(topic: string, payload: Buffer, retained = false): void {
    if (topic === this.options.topics.rules()) return this.options.rules?.receive(payload);
    const parsed = this.options.topics.parse(topic);
    if (parsed === undefined) return;
    const { node, leaf } = parsed;
    // An empty message only clears a retained copy (see dropRetained): nothing to verify or count.
    if (payload.byteLength === 0) return;
    if (retained && leaf !== 'status') return this.dropRetained(topic, node, payload.byteLength);
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

  /**
   * A retained journal run, ack, repair request or inbox answer would be replayed to every node at
   * every subscription, and kept by the broker: ignored, and cleared when the topic is this node's
   * own (only its credentials can write there, the inbox aside, which it may clear too). A peer's
   * topic is left to that peer, which clears it when it subscribes.
   */
  private dropRetained(topic: string, node: string, bytes: number): void {
    const own = node === this.options.nodeId;
    this.options.log.warn({ topic, bytes, clearing: own }, 'ignored a retained message on a topic that is never retained');
    if (!own) return;
    this.options.port.publish(topic, Buffer.alloc(0), { qos: 1, retain: true }).catch((error: unknown) => {
      this.options.log.warn({ err: error, topic }, 'could not clear a retained message; it is cleared at the next subscription');
    });
  }

  /** An ack counts for the node that signed it, on its own topic, and for nobody else. */
  private receiveAck(payload: Buffer, node: string): void {
    const { nodeId, keys, clock } = this.options;
    if (node === nodeId) return;
    const opened = openAck(payload, node, keys);
    if (!opened.ok) return this.refuse('ack', opened.reason, opened.detail, { topicNode: node });
    const ack = opened.message;
    const now = clock.wallMs();
    if (isFutureDated(ack.wallMs, now)) return this.refuse('ack', 'future', `dated ${ack.wallMs - now} ms ahead`, { topicNode: node });
    this.options.onHeard?.(ack.node, Math.min(ack.wallMs, now));
    // Acks about other origins are for them; only this node's own entries concern it here.
    if (ack.origin === nodeId) this.options.onAck?.(ack.node, ack.seq);
  }

  /** Periodic: asks for whatever is still missing (lost answers, lag behind an advertised head). */
  tick(): void {
    const origins = new Set([...this.announcedHeads.keys(), ...this.options.store.origins()]);
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
    const { store, counters } = this.options;
    const before = store.head(origin).seq;
    const results = store.appendAll(entries);
    // Only news is a sign of life: anyone holding the node's broker password could replay its old entries.
    if (topicNode === origin && results.some((r) => r !== 'duplicate' && r !== 'conflict')) this.options.onHeard?.(origin, this.options.clock.wallMs());
    results.forEach((result, i) => {
      // Conflicts are counted and logged by the store's onConflict hook, drained ones included.
      if (result !== 'stored' && result !== 'conflict') counters.increment(result);
      if (result === 'pending_full') this.options.log.warn({ origin, seq: entries[i]!.seq, pending: store.pendingCount }, 'pending buffer full; entry dropped until repaired');
    });
    const stored = store.head(origin).seq - before;
    if (stored > 0) counters.increment('stored', stored);
    this.repairIfBehind(origin);
  }

  private receiveStatus(payload: Buffer, node: string): void {
    const { nodeId, keys, clock, counters, log } = this.options;
    // An empty retained message clears a status; nothing to learn from it.
    if (payload.byteLength === 0) return;
    const own = node === nodeId;
    if (own && !keys.has(node)) return;
    const opened = openStatus(payload, node, keys);
    if (!opened.ok) return this.refuse('status', opened.reason, opened.detail, { topicNode: node });
    const status = opened.message;
    const now = clock.wallMs();
    if (own) {
      if (isUsableOwnStatus(status, now)) this.options.onOwnStatus?.(status);
      return;
    }
    const verdict = this.freshness.admit(status, now);
    if (verdict === 'future') return this.refuse('status', 'future', `dated ${status.wallMs - now} ms ahead (session ${status.session})`, { topicNode: node });
    if (verdict === 'stale') {
      // Overtaken copies are ordinary in transit, so this is counted but not worth a warning.
      counters.increment(controlCounter('status', 'stale'));
      log.debug({ topicNode: node, session: status.session, n: status.n }, 'ignored a status older than the last accepted');
      this.announcedHeads.set(node, Math.max(this.announcedHeads.get(node) ?? 0, status.headSeq));
      return this.repairIfBehind(node);
    }
    const before = this.statuses.get(node);
    this.statuses.set(node, status);
    this.announcedHeads.set(node, status.headSeq);
    if (status.online && before?.online !== true) this.options.onPeerOnline?.(node);
    // The sender's own stamp, not the arrival: a retained "online" from a box that died without its
    // will firing must not look alive each time this node reconnects. Never later than now, though:
    // a stamp inside the clock tolerance must not buy its node time it has not lived.
    if (status.online) this.options.onHeard?.(node, Math.min(status.wallMs, now));
    this.repairIfBehind(node);
  }

  /** Answered only when signed by the requester on its own repair topic: answers go to its inbox alone. */
  private receiveRepairRequest(payload: Buffer, node: string): void {
    // This node's own requests come back to it; nothing to answer.
    if (node === this.options.nodeId) return;
    const opened = openRepairRequest(payload, node, this.options.keys);
    if (!opened.ok) return this.refuse('repair', opened.reason, opened.detail, { topicNode: node });
    this.options.answerer.answer(opened.message);
  }

  private repairIfBehind(origin: string): void {
    const { store, planner, clock, topics, port, nodeId } = this.options;
    if (origin === nodeId || !port.connected) return;
    const head = store.head(origin).seq;
    const gap = store.gap(origin);
    const target = gap?.toSeq ?? this.announcedHeads.get(origin) ?? head;
    const range = planner.plan(origin, head, target, monotonicMs(clock), gap !== undefined);
    if (range === undefined) return;
    const request = sealRepairRequest({ requester: nodeId, origin, fromSeq: range.fromSeq, toSeq: range.toSeq }, this.options.signingKey);
    this.options.counters.increment('repair_requested');
    this.options.log.debug({ origin, ...range }, 'asking for missing entries');
    // On this node's own repair topic, the only one it may write: the topic names the requester.
    port.publish(topics.repair(nodeId), request, { qos: 1 }).catch((error: unknown) => {
      this.options.log.debug({ err: error, origin }, 'repair request not acknowledged; will retry');
    });
  }

  private reject(reason: RejectReason, detail: string, fields: Record<string, unknown>): void {
    this.options.counters.increment(reason);
    this.options.log.warn({ reason, ...fields }, `rejected: ${detail}`);
  }

  /** A flood of forgeries is counted in full but logged sparingly. */
  private refuse(kind: ControlKind, reason: ControlRefusal, detail: string, fields: Record<string, unknown>): void {
    const name = controlCounter(kind, reason);
    this.options.counters.increment(name);
    const count = this.options.counters.get(name);
    const level = count === 1 || count % WARN_EVERY === 0 ? 'warn' : 'debug';
    this.options.log[level]({ reason: name, count, ...fields }, `refused ${kind} message: ${detail}`);
  }
}
