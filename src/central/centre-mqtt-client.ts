import { type IClientOptions, type MqttClient, connect } from 'mqtt';
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
  /** Gives up (the client ended) when the first connection and subscription take longer; no limit by default. */
  readonly timeoutMs?: number;
}

/** How long a client that cannot reach its broker waits between attempts: doubling from the first to the last. */
export interface ReconnectBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** The centre's broker: soon after a blip, at most every 15 s during a long outage (a boot in any order). */
export const CENTRE_RECONNECT_BACKOFF: ReconnectBackoff = { initialMs: 500, maxMs: 15_000 };

/** The options both kinds of centre client share: MQTT 3.1.1, a clean session. */
function clientOptions(options: Pick<CentreClientOptions, 'clientId' | 'username' | 'password' | 'tls'>): IClientOptions {
  return {
    clientId: options.clientId,
    username: options.username,
    ...(options.password === undefined ? {} : { password: options.password }),
    ...options.tls,
    protocolVersion: 4,
    clean: true,
  };
}

/**
 * The MQTT client both ends of the centre's request/response use: MQTT 3.1.1 (the embedded broker
 * speaks nothing newer), a clean session (a request that found no listener is sent again by its
 * node), reconnecting on its own. Resolves once connected and subscribed; on failure (the first
 * error, or `timeoutMs` without a subscription) the client is ended and the error rethrown. For
 * tools and tests that need the broker now; a long-running process uses openCentreClient.
 */
export async function connectCentreClient(options: CentreClientOptions, onMessage: (topic: string, payload: Buffer) => void): Promise<MqttClient> {
  const client = connect(options.brokerUrl, { ...clientOptions(options), reconnectPeriod: 500, resubscribe: true });
  client.on('message', onMessage);
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('error', reject);
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => reject(new Error(`no connection to ${options.brokerUrl} within ${options.timeoutMs} ms`)), options.timeoutMs);
      }
      client.once('connect', () => {
        client.off('error', reject);
        client.on('error', options.onError);
        client.subscribe(options.filters, { qos: 1 }, (error) => (error ? reject(error) : resolve()));
      });
    });
  } catch (error) {
    await client.endAsync(true);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return client;
}

export interface OpenCentreClientOptions extends Omit<CentreClientOptions, 'filters' | 'onError' | 'timeoutMs'> {
  /** Each failed attempt, with the wait before the next one: once per back-off step, never a flood. */
  readonly onAttemptFailed: (error: Error, retryInMs: number) => void;
  readonly backoff?: ReconnectBackoff;
  /** An attempt the broker does not answer (a host that drops packets) fails after this long. */
  readonly connectTimeoutMs?: number;
}

/**
 * A client for a process that must start whether or not its broker is there (`centre run` after a
 * power cut): it returns at once, unconnected, and keeps trying with back-off until the broker
 * answers, then again after every loss. It subscribes to nothing: its owner subscribes on each
 * `connect`, once it can serve what the subscription brings. A broker that refuses the CONNECT
 * (not yet provisioned, restarting) is tried again like one that is not there.
 */
export function openCentreClient(options: OpenCentreClientOptions, onMessage: (topic: string, payload: Buffer) => void): MqttClient {
  const backoff = options.backoff ?? CENTRE_RECONNECT_BACKOFF;
  const client = connect(options.brokerUrl, {
    ...clientOptions(options),
    reconnectPeriod: backoff.initialMs,
    reconnectOnConnackError: true,
    resubscribe: false,
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeout: options.connectTimeoutMs }),
  });
  client.on('message', onMessage);
  withReconnectBackoff(client, backoff);
  client.on('error', (error) => options.onAttemptFailed(error, client.options.reconnectPeriod ?? backoff.initialMs));
  return client;
}

/**
 * mqtt.js waits a fixed reconnectPeriod between attempts; it reads the option afresh each time it
 * arms the next attempt (after the attempt before it failed), so doubling it at every attempt
 * and resetting it on connect gives a back-off without reaching into the client's internals.
 */
export function withReconnectBackoff(client: MqttClient, backoff: ReconnectBackoff): void {
  client.options.reconnectPeriod = backoff.initialMs;
  client.on('reconnect', () => {
    client.options.reconnectPeriod = Math.min(backoff.maxMs, (client.options.reconnectPeriod ?? backoff.initialMs) * 2);
  });
  client.on('connect', () => {
    client.options.reconnectPeriod = backoff.initialMs;
  });
}
