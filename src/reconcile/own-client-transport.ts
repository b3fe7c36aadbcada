import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { connectCentreClient } from '../central/centre-mqtt-client.js';
import { EdgepayError } from '../errors.js';
import type { BrokerTlsOptions } from '../platform/broker-tls.js';
import { asBuffer } from '../platform/thread-bytes.js';
import type { CentreTransport } from './centre-transport.js';

export interface OwnClientTransportOptions {
  readonly brokerUrl: string;
  /** Tried in order when brokerUrl cannot be reached: the store's brokers are bridged to each other. */
  readonly standbyBrokerUrls?: readonly string[];
  readonly username: string;
  readonly password?: string;
  /** On mqtts://: the CA and the node's client certificate, as the replicator uses them. */
  readonly tls?: BrokerTlsOptions;
  /** The node's `centre` topic, subscribed QoS 1 on every connect. */
  readonly answerTopic: string;
  /** toolClientId(): apart from the running node's session, and from any other tool's, on a password listener. */
  readonly clientId: string;
  /** The first connection and subscription may take this long at most (a tool answers within its own timeout). */
  readonly connectTimeoutMs?: number;
}

/**
 * A tool's client id: the node id, what the tool is, and a random part. Never the node id alone,
 * which is the running node's persistent session (the broker would drop it for this one), nor the
 * same for two tools at once, which would drop each other. On the TLS listener the broker replaces
 * it with the certificate's name (use_username_as_clientid): there only not connecting beside a
 * running node keeps its session (reconcile-status.ts).
 */
export function toolClientId(nodeId: string, tool: string): string {
  return `${nodeId}-${tool}-${randomBytes(4).toString('hex')}`;
}

/**
 * A clean-session client of the centre link's own. Only for a process that is not the running
 * node (`edgepay reconcile run` with the node stopped, tests): on the TLS listener the broker makes
 * the certificate's name the client id, so this client and a running node's replicator would
 * take the one session from each other.
 */
export async function openOwnClientTransport(options: OwnClientTransportOptions): Promise<CentreTransport> {
  const urls = [options.brokerUrl, ...(options.standbyBrokerUrls ?? [])];
  const failures: string[] = [];
  for (const brokerUrl of urls) {
    try {
      return await openOn(brokerUrl, options);
    } catch (error) {
      failures.push(`${brokerUrl}: ${(error as Error).message}`);
    }
  }
  throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `cannot reach ${urls.length === 1 ? 'the broker at' : 'any store broker:'} ${failures.join('; ')}`, { brokerUrls: urls });
}

async function openOn(brokerUrl: string, options: OwnClientTransportOptions): Promise<CentreTransport> {
  let handler: (payload: Buffer) => void = () => undefined;
  const client: MqttClient = await connectCentreClient(
    {
      brokerUrl,
      clientId: options.clientId,
      username: options.username,
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      filters: options.answerTopic,
      onError: () => undefined,
      ...(options.connectTimeoutMs === undefined ? {} : { timeoutMs: options.connectTimeoutMs }),
    },
    (_topic, payload) => handler(payload),
  );
  return {
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) => {
        client.publish(topic, asBuffer(payload), { qos: 1 }, (error) => (error ? reject(error) : resolve()));
      }),
    onAnswer: (next) => {
      handler = next;
    },
    close: async () => {
      // A clean end waits for every PUBACK: one that never comes (the broker went away) would hold
      // the command forever. Nothing is lost by dropping the socket: a request with no answer is
      // sent again, and the centre is idempotent.
      const unacknowledged = Object.keys(client.outgoing).length > 0;
      await client.endAsync(unacknowledged || !client.connected);
    },
  };
}
