import type { BrokerLinkStatus } from '../replication/broker/broker-failover.js';
import type { MqttPort, PublishOptions } from '../replication/broker/port.js';
import type { BrokerSession, SessionHandlers } from '../replication/broker/session.js';
import type { WillMessage } from '../replication/peers/status.js';
import type { SimNetwork } from './network.js';
import type { SimScheduler } from './scheduler.js';

/** Where the simulated broker is, for the replicator's status. */
const SIM_BROKER_URL = 'mqtt://sim-broker:1883';

/**
 * A node's session with the simulated broker, as mqtt.js keeps one: it dials at open, and again
 * every reconnectMs while the broker is down or the node's link cut; each connection is announced
 * a hop after it is made, and its loss at once. Leaving it (close) is a clean DISCONNECT; a
 * process that dies (drop) leaves the broker to publish its will.
 */
export class SimSession implements BrokerSession {
  private handlers: SessionHandlers | undefined;
  private will: WillMessage | undefined;
  private filters: readonly string[] = [];
  private current: MqttPort | undefined;
  private unwatch: (() => void) | undefined;
  private ended = false;
  readonly port: MqttPort;

  constructor(
    private readonly nodeId: string,
    private readonly network: SimNetwork,
    private readonly scheduler: SimScheduler,
    private readonly reconnectMs: number,
  ) {
    const session = this;
    this.port = {
      get connected() {
        return session.current?.connected ?? false;
      },
      publish: (topic: string, payload: Buffer, options: PublishOptions) => (this.current === undefined ? Promise.reject(new Error(`${this.nodeId} is not connected`)) : this.current.publish(topic, payload, options)),
    };
  }

  open(will: WillMessage, handlers: SessionHandlers): void {
    this.will = will;
    this.handlers = handlers;
    this.dial();
  }

  setWill(will: WillMessage): void {
    this.will = will;
    if (this.current !== undefined) this.network.setWill(this.nodeId, will);
  }

  subscribe(filters: readonly string[]): Promise<string[]> {
    // As MQTT's SUBSCRIBE: added to the session's subscriptions, a filter held already renewed.
    this.filters = [...new Set([...this.filters, ...filters])];
    if (this.current === undefined) return Promise.reject(new Error(`${this.nodeId} is not connected`));
    this.network.subscribe(this.nodeId, filters);
    return Promise.resolve([]);
  }

  status(): BrokerLinkStatus {
    return { url: SIM_BROKER_URL, index: 0, onStandby: false, failovers: 0, failbacks: 0 };
  }

  async close(): Promise<void> {
    this.end(false);
  }

  /** The process died: its socket closes under the broker, which publishes the will. */
  drop(): void {
    this.end(true);
  }

  private end(dropped: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.unwatch?.();
    if (this.current !== undefined) this.network.detach(this.nodeId, dropped);
    this.current = undefined;
  }

  private dial(): void {
    if (this.ended) return;
    if (!this.network.reachable(this.nodeId)) {
      this.redial();
      return;
    }
    const port = this.network.attach(this.nodeId, this.filters, (topic, payload, retained) => this.handlers?.message({ topic, payload, retained }, () => undefined), this.will);
    this.current = port;
    this.unwatch = this.network.watchConnection(this.nodeId, () => this.lost(port));
    // The CONNACK comes back after a hop; the connection may be gone again by then.
    this.scheduler.after(1, () => {
      if (this.current === port && port.connected) this.handlers?.connect(true);
    });
  }

  private lost(port: MqttPort): void {
    if (this.current !== port) return;
    this.unwatch?.();
    this.unwatch = undefined;
    this.current = undefined;
    // That connection is over for the broker too (its will, if due, went out with the cut).
    this.network.detach(this.nodeId);
    this.handlers?.closed();
    this.redial();
  }

  private redial(): void {
    this.scheduler.after(this.reconnectMs, () => {
      if (this.ended) return;
      this.handlers?.reconnecting();
      this.dial();
    });
  }
}
