import type { MqttPort, PublishOptions } from '../replication/broker/port.js';
import { type RandomSource, between } from '../platform/random.js';
import type { WillMessage } from '../replication/peers/status.js';
import { topicMatches } from '../wire/topics.js';
import type { SimScheduler } from './scheduler.js';

/** How the simulated broker treats each delivery to a subscriber. */
export interface NetworkFates {
  /** Chance a delivery is lost (as when a session is lost), 0 to 1. */
  readonly loss: number;
  /** Chance a delivery comes twice (a QoS 1 resend after a lost PUBACK). */
  readonly duplicate: number;
  /** Each hop takes 0 to this many milliseconds, drawn per message: deliveries overtake each other. */
  readonly maxDelayMs: number;
}

/** A delivery: `retained` when the broker hands over its retained copy (at a subscription), not a live publish. */
export type Deliver = (topic: string, payload: Buffer, retained: boolean) => void;

interface Attached {
  filters: readonly string[];
  readonly deliver: Deliver;
  /** What the broker publishes for the node when its connection drops without a goodbye. */
  will: WillMessage | undefined;
  /** Bumped on every attach: deliveries to an earlier incarnation of the node are dropped. */
  readonly incarnation: number;
}

export interface NetworkTally {
  published: number;
  /** Messages put on the wire by no node: forgeries, delivered like any other. */
  injected: number;
  /** Deliveries of those to nodes that examine them (not to the node whose own journal topic they use). */
  injectedDelivered: number;
  delivered: number;
  lost: number;
  duplicated: number;
  refused: number;
}

/**
 * The store's MQTT broker, simulated: QoS 1 publishes acknowledged after a hop, retained
 * messages kept across broker restarts (persistence), every delivery given a fate from the seed
 * (lost, doubled, delayed so that it overtakes others), and links that can be cut per node or
 * all at once by stopping the broker. A node reconnecting gets the retained messages again.
 */
export class SimNetwork {
  readonly tally: NetworkTally = { published: 0, injected: 0, injectedDelivered: 0, delivered: 0, lost: 0, duplicated: 0, refused: 0 };
  private readonly nodes = new Map<string, Attached>();
  private readonly linkDown = new Set<string>();
  /** Pairs of nodes that cannot hear each other while both still reach the broker, as "a|b" with a < b. */
  private readonly pairsApart = new Set<string>();
  private readonly retained = new Map<string, { readonly payload: Buffer; readonly from: string }>();
  private brokerUp = true;
  /** Who wants to hear that a node's connection dropped, as a client sees its socket close. */
  private readonly lossWatchers = new Map<string, Set<() => void>>();
  private incarnations = 0;

  constructor(
    private readonly scheduler: SimScheduler,
    private readonly random: RandomSource,
    private readonly fates: NetworkFates,
  ) {}

  /** A node's client, connected now; the retained messages it subscribes to arrive after a hop. */
  attach(nodeId: string, filters: readonly string[], deliver: Deliver, will?: WillMessage): MqttPort {
    const attached: Attached = { filters, deliver, will, incarnation: ++this.incarnations };
    this.nodes.set(nodeId, attached);
    this.sendRetained(nodeId);
    const network = this;
    return {
      get connected() {
        return network.connected(nodeId) && network.nodes.get(nodeId) === attached;
      },
      publish: (topic, payload, options) => this.publish(nodeId, attached, topic, payload, options),
    };
  }

  /**
   * A message from outside the fleet (an intruder on the store's network), routed as the broker
   * would. `owner` is the node whose own topic it uses: it gets the message too, and ignores it
   * unexamined, as it does its own entries, so those deliveries are not counted.
   */
  inject(topic: string, payload: Buffer, owner: string | null): void {
    if (!this.brokerUp) return;
    this.tally.injected++;
    for (const [nodeId, target] of this.nodes) {
      if (target.filters.some((filter) => topicMatches(filter, topic))) this.route(null, nodeId, target, topic, payload, nodeId !== owner);
    }
  }

  /**
   * The node's connection ends. `dropped`: without a goodbye (its process died, its socket closed
   * under it), so the broker publishes its last will, if it holds one and can reach the others.
   */
  detach(nodeId: string, dropped = false): void {
    if (dropped) this.publishWill(nodeId);
    this.nodes.delete(nodeId);
  }

  /**
   * The node subscribes to `filters`, as MQTT's SUBSCRIBE: each is added to its subscriptions (or
   * renews one it holds), and the broker hands over its retained messages for them.
   */
  subscribe(nodeId: string, filters: readonly string[]): void {
    const target = this.nodes.get(nodeId);
    if (target === undefined) return;
    target.filters = [...new Set([...target.filters, ...filters])];
    this.sendRetained(nodeId, undefined, filters);
  }

  /** The will the broker publishes for the node's current connection if it drops. */
  setWill(nodeId: string, will: WillMessage): void {
    const target = this.nodes.get(nodeId);
    if (target !== undefined) target.will = will;
  }

  cut(nodeId: string): void {
    // The broker notices the silent link (keepalive) and publishes the node's will to the others.
    if (!this.linkDown.has(nodeId)) this.publishWill(nodeId);
    this.linkDown.add(nodeId);
    for (const lost of [...(this.lossWatchers.get(nodeId) ?? [])]) lost();
  }

  /** Calls `lost` when the node's connection drops (its link cut, the broker stopped); returns the unwatch. */
  watchConnection(nodeId: string, lost: () => void): () => void {
    const watchers = this.lossWatchers.get(nodeId) ?? new Set<() => void>();
    watchers.add(lost);
    this.lossWatchers.set(nodeId, watchers);
    return () => watchers.delete(lost);
  }

  heal(nodeId: string): void {
    if (this.linkDown.delete(nodeId)) this.sendRetained(nodeId);
  }

  /**
   * The two nodes stop hearing each other, each still reaching the broker and the third node: as
   * with a bridged broker whose bridge is down, or an ACL pushed wrong.
   */
  cutBetween(a: string, b: string): void {
    this.pairsApart.add(pairKey(a, b));
  }

  healBetween(a: string, b: string): void {
    if (!this.pairsApart.delete(pairKey(a, b))) return;
    // As a bridge reconnecting: each side gets the other's retained messages again.
    this.sendRetained(a, b);
    this.sendRetained(b, a);
  }

  healAllPairs(): void {
    for (const key of [...this.pairsApart]) {
      const [a, b] = key.split('|') as [string, string];
      this.healBetween(a, b);
    }
  }

  stopBroker(): void {
    this.brokerUp = false;
    for (const watchers of this.lossWatchers.values()) for (const lost of [...watchers]) lost();
  }

  startBroker(): void {
    if (this.brokerUp) return;
    this.brokerUp = true;
    for (const nodeId of this.nodes.keys()) this.sendRetained(nodeId);
  }

  connected(nodeId: string): boolean {
    return this.reachable(nodeId) && this.nodes.has(nodeId);
  }

  /** The broker is up and the node's link whole: a client of it could connect now. */
  reachable(nodeId: string): boolean {
    return this.brokerUp && !this.linkDown.has(nodeId);
  }

  private publishWill(nodeId: string): void {
    const will = this.nodes.get(nodeId)?.will;
    if (will === undefined || !this.reachable(nodeId) || !this.brokerUp) return;
    this.tally.published++;
    if (will.retain) this.retained.set(will.topic, { payload: will.payload, from: nodeId });
    for (const [other, target] of this.nodes) {
      if (other !== nodeId && target.filters.some((filter) => topicMatches(filter, will.topic))) this.route(nodeId, other, target, will.topic, will.payload);
    }
  }

  private publish(from: string, sender: Attached, topic: string, payload: Buffer, options: PublishOptions): Promise<void> {
    if (!this.connected(from) || this.nodes.get(from) !== sender) {
      this.tally.refused++;
      return Promise.reject(new Error(`${from} is not connected`));
    }
    this.tally.published++;
    return new Promise<void>((resolve, reject) => {
      this.scheduler.after(this.hop(), () => {
        if (!this.connected(from) || this.nodes.get(from) !== sender) return reject(new Error(`${from} lost its connection before the broker had the message`));
        if (options.retain === true) this.retained.set(topic, { payload, from });
        for (const [nodeId, target] of this.nodes) {
          if (target.filters.some((filter) => topicMatches(filter, topic))) this.route(from, nodeId, target, topic, payload);
        }
        this.scheduler.after(this.hop(), () => (this.connected(from) && this.nodes.get(from) === sender ? resolve() : reject(new Error(`${from} lost the PUBACK`))));
      });
    });
  }

  /** `from` is the publishing node, or null for a message from outside the fleet. */
  private route(from: string | null, nodeId: string, target: Attached, topic: string, payload: Buffer, countInjected = false, retained = false): void {
    if (!this.connected(nodeId) || (from !== null && this.pairsApart.has(pairKey(from, nodeId)))) return;
    const draw = this.random.int(1_000_000) / 1_000_000;
    if (draw < this.fates.loss) {
      this.tally.lost++;
      return;
    }
    const copies = draw < this.fates.loss + this.fates.duplicate ? 2 : 1;
    if (copies === 2) this.tally.duplicated++;
    for (let i = 0; i < copies; i++) {
      this.scheduler.after(this.hop(), () => {
        if (this.nodes.get(nodeId) !== target || !this.connected(nodeId) || (from !== null && this.pairsApart.has(pairKey(from, nodeId)))) return;
        this.tally.delivered++;
        if (countInjected) this.tally.injectedDelivered++;
        target.deliver(topic, payload, retained);
      });
    }
  }

  /** The retained messages a node subscribes to (or of `filters` only), of every node it can hear (or of `only`). */
  private sendRetained(nodeId: string, only?: string, filters?: readonly string[]): void {
    const target = this.nodes.get(nodeId);
    if (target === undefined) return;
    for (const [topic, { payload, from }] of this.retained) {
      if (only !== undefined && from !== only) continue;
      if ((filters ?? target.filters).some((filter) => topicMatches(filter, topic))) this.route(from, nodeId, target, topic, payload, false, true);
    }
  }

  private hop(): number {
    return between(this.random, 0, this.fates.maxDelayMs);
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
