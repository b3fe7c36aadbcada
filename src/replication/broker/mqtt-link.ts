import { readFileSync } from 'node:fs';
import { type IClientOptions, type MqttClient, connect } from 'mqtt';
import { loadBrokerTls } from '../../platform/broker-tls.js';
import type { ReplicatorSettings, ReplicatorTuning } from '../config.js';
import { ReplicationError } from '../../wire/errors.js';
import type { MqttPort, PublishOptions } from './port.js';
import type { WillMessage } from '../peers/status.js';

/** Sets the last will the broker publishes for the next connection, if it ends uncleanly. */
export function setWill(client: MqttClient, will: WillMessage): void {
  client.options.will = { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain };
}

/**
 * One mqtt.js client per node: a persistent session (clean=false) under a fixed client id, the
 * node id, so the broker keeps its subscriptions and queues QoS 1 messages while it is away, and
 * the client re-sends its unacknowledged publishes after reconnecting. Nothing waits for its first
 * connection: a node comes up with its broker down (a boot in any order) and joins at the next
 * attempt, every reconnectPeriodMs, exactly as after a later outage. MQTT 3.1.1 because the
 * embedded broker (aedes) speaks nothing newer; nothing here needs MQTT 5.
 */
export function createClient(settings: ReplicatorSettings, tuning: ReplicatorTuning): MqttClient {
  const options: IClientOptions = {
    // connect() is called once the will (which needs the outbox's head) is known.
    manualConnect: true,
    clientId: settings.nodeId,
    clean: false,
    protocolVersion: 4,
    username: settings.username ?? settings.nodeId,
    reconnectPeriod: tuning.reconnectPeriodMs,
    // A broker that refuses the CONNECT (come up before its password file or ACL was written, or
    // restarting) is tried again like one that is not there yet; mqtt.js would otherwise stop for good.
    reconnectOnConnackError: true,
    connectTimeout: tuning.connectTimeoutMs,
    keepalive: tuning.keepaliveSeconds,
    // The replicator subscribes on every connect itself: it knows whether the session survived.
    resubscribe: false,
  };
  if (settings.passwordFile !== undefined) options.password = readPassword(settings.passwordFile);
  Object.assign(options, loadBrokerTls(settings.brokerUrl, settings, 'replication.'));
  const client = connect(settings.brokerUrl, options);
  // A replicator both sends and receives small packets on one connection: with Nagle's algorithm
  // and delayed ACKs each entry waits tens of milliseconds, so small writes go out at once.
  client.on('connect', () => (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true));
  return client;
}

export class MqttLink implements MqttPort {
  constructor(private readonly client: MqttClient) {}

  get connected(): boolean {
    return this.client.connected;
  }

  publish(topic: string, payload: Buffer, options: PublishOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.publish(topic, payload, { qos: options.qos, retain: options.retain ?? false }, (error) => (error ? reject(error) : resolve()));
    });
  }
}

/** The broker password: the first line of the file, not empty. */
export function readPassword(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `passwordFile ${file} cannot be read: ${(cause as Error).message}`, { file }, { cause });
  }
  const password = text.split(/\r?\n/, 1)[0] ?? '';
  if (password.length === 0) throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `passwordFile ${file} is empty`, { file });
  return password;
}
