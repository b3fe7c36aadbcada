import type { MqttClient } from 'mqtt';
import { connectCentreClient } from '../central/centre-mqtt-client.js';
import { EdgepayError } from '../errors.js';
import type { BrokerTlsOptions } from '../platform/broker-tls.js';
import { asBuffer } from '../platform/thread-bytes.js';
import type { CentreTransport } from './centre-transport.js';

export interface OwnClientTransportOptions {
  readonly brokerUrl: string;
  readonly username: string;
  readonly password?: string;
  /** On mqtts://: the CA and the node's client certificate, as the replicator uses them. */
  readonly tls?: BrokerTlsOptions;
  /** The node's `centre` topic, subscribed QoS 1 on every connect. */
  readonly answerTopic: string;
  /** `<node>-uplink`: apart from the replicator's session on a password listener. */
  readonly clientId: string;
}

/**
 * A clean-session client of the centre link's own. Only for a process that is not the running
 * node (`edgepay reconcile run` with the node stopped, tests): on the TLS listener the broker makes
 * the certificate's name the client id, so this client and a running node's replicator would
 * take the one session from each other.
 */
export async function openOwnClientTransport(options: OwnClientTransportOptions): Promise<CentreTransport> {
  let handler: (payload: Buffer) => void = () => undefined;
  let client: MqttClient;
  try {
    client = await connectCentreClient(
      {
        brokerUrl: options.brokerUrl,
        clientId: options.clientId,
        username: options.username,
        ...(options.password === undefined ? {} : { password: options.password }),
        ...(options.tls === undefined ? {} : { tls: options.tls }),
        filters: options.answerTopic,
        onError: () => undefined,
      },
      (_topic, payload) => handler(payload),
    );
  } catch (error) {
    throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `cannot reach the broker at ${options.brokerUrl}: ${(error as Error).message}`, { brokerUrl: options.brokerUrl }, { cause: error });
  }
  return {
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) => {
        client.publish(topic, asBuffer(payload), { qos: 1 }, (error) => (error ? reject(error) : resolve()));
      }),
    onAnswer: (next) => {
      handler = next;
    },
    close: async () => {
      await client.endAsync();
    },
  };
}
