import { type MqttClient, connect } from 'mqtt';
import type { BrokerTlsOptions } from '../platform/broker-tls.js';

export interface CentreClientOptions {
  readonly brokerUrl: string;
  readonly clientId: string;
  readonly username: string;
  readonly password?: string;
  /** On mqtts://: the CA to verify the broker with and the client certificate (loadBrokerTls). */
  readonly tls?: BrokerTlsOptions;
  /** Subscribed (QoS 1) on connect and again after every reconnect. */
  readonly filters: string | string[];
  /** Errors after the first connect; the client reconnects by itself. */
  readonly onError: (error: Error) => void;
}

/**
 * The MQTT client both ends of the centre's request/response use: MQTT 3.1.1 (the embedded broker
 * speaks nothing newer), a clean session (a request that found no listener is sent again by its
 * node), reconnecting on its own. Resolves once connected and subscribed; on failure the client is
 * ended and the error rethrown.
 */
export async function connectCentreClient(options: CentreClientOptions, onMessage: (topic: string, payload: Buffer) => void): Promise<MqttClient> {
  const client = connect(options.brokerUrl, {
    clientId: options.clientId,
    username: options.username,
    ...(options.password === undefined ? {} : { password: options.password }),
    ...options.tls,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 500,
    resubscribe: true,
  });
  client.on('message', onMessage);
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('error', reject);
      client.once('connect', () => {
        client.off('error', reject);
        client.on('error', options.onError);
        client.subscribe(options.filters, { qos: 1 }, (error) => (error ? reject(error) : resolve()));
      });
    });
  } catch (error) {
    await client.endAsync(true);
    throw error;
  }
  return client;
}
