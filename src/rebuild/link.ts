import { type IClientOptions, type MqttClient, connect } from 'mqtt';
import { loadBrokerTls } from '../platform/broker-tls.js';
import type { ReplicationConfig } from '../replication/config.js';
import { readPassword } from '../replication/broker/mqtt-link.js';
import { RebuildError } from './errors.js';

export interface RebuildLinkOptions {
  readonly nodeId: string;
  readonly replication: Pick<ReplicationConfig, 'brokerUrl' | 'standbyBrokerUrls' | 'username' | 'passwordFile' | 'caFile' | 'certFile' | 'keyFile'>;
  readonly connectTimeoutMs: number;
}

/**
 * The rebuild's own MQTT client: the node's credentials (the broker ACL knows the node by its
 * username) under a client id of its own and a clean session, so it neither takes over nor
 * inherits the dead node's persistent session, whose queue the restarted node will want.
 * No reconnects: a rebuild that loses the broker fails and is run again.
 */
export async function openRebuildLink(options: RebuildLinkOptions): Promise<MqttClient> {
  const { replication } = options;
  // The store's brokers are bridged: any one of them carries the peers' answers. The primary first,
  // then each standby, so a rebuild works while the primary's box is the one that is down.
  const urls = [replication.brokerUrl, ...(replication.standbyBrokerUrls ?? [])];
  const failures: string[] = [];
  for (const url of urls) {
    try {
      return await connectRebuildLink(options, url);
    } catch (cause) {
      failures.push(`${url}: ${(cause as Error).message}`);
      if (url === urls.at(-1)) {
        throw new RebuildError('EDGEPAY_REBUILD_UNREACHABLE', `cannot connect to any store broker as ${replication.username ?? options.nodeId}: ${failures.join('; ')}`, { brokerUrls: urls }, { cause });
      }
    }
  }
  throw new RebuildError('EDGEPAY_REBUILD_UNREACHABLE', 'no store broker is configured', { brokerUrls: urls });
}

async function connectRebuildLink(options: RebuildLinkOptions, brokerUrl: string): Promise<MqttClient> {
  const { nodeId, replication } = options;
  const clientOptions: IClientOptions = {
    clientId: `${nodeId}-rebuild`,
    clean: true,
    protocolVersion: 4,
    username: replication.username ?? nodeId,
    reconnectPeriod: 0,
    connectTimeout: options.connectTimeoutMs,
    resubscribe: false,
  };
  if (replication.passwordFile !== undefined) clientOptions.password = readPassword(replication.passwordFile);
  Object.assign(clientOptions, loadBrokerTls(brokerUrl, replication, 'replication.'));
  const client = connect(brokerUrl, clientOptions);
  // mqtt.js throws an 'error' nobody listens to; a lost link shows as 'close', which the caller watches.
  client.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no CONNACK within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      client.once('error', fail);
      client.once('close', () => fail(new Error('connection closed before CONNACK')));
    });
  } catch (cause) {
    client.end(true);
    throw cause;
  }
  return client;
}

/** Subscribes at QoS 1; a filter the ACL refuses (granted 128) is an error, not silence. */
export async function subscribeAll(client: MqttClient, filters: readonly string[]): Promise<void> {
  const granted = await client.subscribeAsync([...filters], { qos: 1 }).catch((cause: unknown) => {
    throw new RebuildError('EDGEPAY_REBUILD_UNREACHABLE', `subscribe failed: ${(cause as Error).message}`, { filters }, { cause });
  });
  const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
  if (refused.length > 0) throw new RebuildError('EDGEPAY_REBUILD_UNREACHABLE', `the broker refused subscriptions ${refused.join(', ')}: check the ACL`, { refused });
}

/** Ends the link without waiting on a broker that may be gone. */
export async function closeRebuildLink(client: MqttClient, graceMs = 1_000): Promise<void> {
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      client.end(true);
      resolve();
    }, graceMs);
    client.end(false, {}, () => {
      clearTimeout(force);
      resolve();
    });
  });
}
