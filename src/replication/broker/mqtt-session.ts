import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Clock } from '../../platform/clock.js';
import type { ReplicationLog } from '../../platform/replication-log.js';
import { DEFAULT_FAILBACK_AFTER_SECONDS, type ReplicatorSettings, type ReplicatorTuning } from '../config.js';
import type { WillMessage } from '../peers/status.js';
import { BrokerFailover, type BrokerLinkStatus } from './broker-failover.js';
import { MqttLink, createClient, setWill } from './mqtt-link.js';
import type { BrokerSession, SessionHandlers } from './session.js';

/**
 * The broker session over one mqtt.js client (createClient: persistent session under the node's
 * id, reconnecting on its own), moved between the store's brokers by BrokerFailover when standbys
 * are configured.
 */
export class MqttSession implements BrokerSession {
  private readonly client: MqttClient;
  private readonly failover: BrokerFailover | undefined;
  readonly port: MqttLink;

  constructor(
    private readonly settings: ReplicatorSettings,
    tuning: ReplicatorTuning,
    log: ReplicationLog,
    clock: Clock,
  ) {
    // Created unconnected (manualConnect): it holds no socket until open().
    this.client = createClient(settings, tuning);
    this.failover =
      (settings.standbyBrokerUrls ?? []).length === 0
        ? undefined
        : new BrokerFailover(this.client, {
            urls: [settings.brokerUrl, ...(settings.standbyBrokerUrls ?? [])],
            failbackAfterMs: (settings.failbackAfterSeconds ?? DEFAULT_FAILBACK_AFTER_SECONDS) * 1_000,
            probeEveryMs: tuning.failbackProbeMs,
            log,
            clock,
          });
    this.port = new MqttLink(this.client);
  }

  open(will: WillMessage, handlers: SessionHandlers): void {
    const client = this.client;
    client.handleMessage = (packet: IPublishPacket, done) => {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      handlers.message({ topic: packet.topic, payload, retained: packet.retain }, done);
    };
    client.on('connect', (connack) => handlers.connect(connack.sessionPresent));
    client.on('reconnect', () => handlers.reconnecting());
    client.on('close', () => handlers.closed());
    client.on('error', (error) => handlers.error(error));
    setWill(client, will);
    client.connect();
  }

  setWill(will: WillMessage): void {
    setWill(this.client, will);
  }

  subscribe(filters: readonly string[]): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.client.subscribe([...filters], { qos: 1 }, (error, granted) => {
        if (error) return reject(error);
        resolve((granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic));
      });
    });
  }

  status(): BrokerLinkStatus {
    return this.failover?.status() ?? { url: this.settings.brokerUrl, index: 0, onStandby: false, failovers: 0, failbacks: 0 };
  }

  async close(graceMs: number): Promise<void> {
    this.failover?.close();
    await new Promise<void>((resolve) => {
      // With the broker away, unacknowledged publishes never drain: drop the link and go.
      const force = setTimeout(() => {
        this.client.stream?.destroy();
        resolve();
      }, graceMs);
      this.client.end(false, {}, () => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}
