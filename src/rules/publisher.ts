import { type KeyObject, randomBytes } from 'node:crypto';
import { type IClientOptions, type MqttClient, connect } from 'mqtt';
import type { BrokerTlsOptions } from '../platform/broker-tls.js';
import { RulesPublishError } from './errors.js';
import { openRulesMessage } from './message.js';
import { StoreTopics } from '../wire/topics.js';

export interface PublishRulesOptions {
  readonly brokerUrl: string;
  readonly fleet: string;
  readonly store: string;
  /** The broker user allowed to write the rules topic (brokers/acl.template: `edgepay-rules`). */
  readonly username: string;
  readonly password?: string;
  /** On mqtts://: the CA and the publisher's client certificate (loadBrokerTls); on the TLS listener its name is the user. */
  readonly tls?: BrokerTlsOptions;
  /** A signed rules message (encodeRulesMessage). */
  readonly payload: Buffer;
  readonly version: number;
  /** The rules public key: only a retained message that verifies with it can hold a publication back. */
  readonly rulesPublicKey: KeyObject;
  /** Publish even below the retained version: only for tests and deliberate replays. */
  readonly allowOlder?: boolean;
  /** Each wait (connect, PUBACK, read-back) at most this long. */
  readonly timeoutMs?: number;
  /** How long to listen for a retained message after subscribing; MQTT 3.1.1 never says "none". */
  readonly retainedWaitMs?: number;
}

export interface PublishRulesResult {
  readonly topic: string;
  /** The version of the validly signed rules the broker retained before; null if none. */
  readonly previousVersion: number | null;
  /** The broker retained a message that does not verify (forged, another key or store), now replaced. */
  readonly replacedUnverified: boolean;
}

/**
 * Publishes one signed rules message, retained, QoS 1, and proves the broker kept it: it first
 * reads what the broker retains (refusing to replace newer rules), then publishes, waits for the
 * PUBACK, and waits to receive its own message back. The read-back matters because Mosquitto
 * acknowledges a publish its ACL drops: a PUBACK alone does not show that nodes will see it.
 */
export async function publishRules(options: PublishRulesOptions): Promise<PublishRulesResult> {
  const topic = new StoreTopics(options.fleet, options.store).rules();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const client = await connectTo(options, timeoutMs);
  const closed = new Promise<never>((_, reject) => {
    const detail = `is user ${options.username} allowed to write ${topic}, and are ${options.payload.byteLength} bytes within the broker's max_packet_size?`;
    client.once('close', () => reject(new RulesPublishError('EDGEPAY_RULES_NOT_ACCEPTED', `the broker closed the connection: ${detail}`, { topic })));
  });
  closed.catch(() => undefined);
  const received: { payload: Buffer; retain: boolean }[] = [];
  let onReceived: () => void = () => undefined;
  client.on('message', (from, payload, packet) => {
    if (from !== topic) return;
    received.push({ payload, retain: packet.retain });
    onReceived();
  });
  try {
    const granted = await within(Promise.race([client.subscribeAsync(topic, { qos: 1 }), closed]), timeoutMs, `subscribing to ${topic}`);
    if (granted.some((g) => g.qos === 128)) {
      throw new RulesPublishError('EDGEPAY_RULES_NOT_ACCEPTED', `the broker refused user ${options.username} a subscription to ${topic}; it must be able to read it back`, { topic });
    }
    await new Promise((resolve) => setTimeout(resolve, options.retainedWaitMs ?? 1_000));
    const retained = received.find((m) => m.retain);
    // Unverified, a retained message's version means nothing: anyone with write access could claim any.
    const opened = retained === undefined ? undefined : openRulesMessage(retained.payload, options, options.rulesPublicKey);
    const previousVersion = opened?.ok === true ? opened.rules.version : null;
    if (retained !== undefined && !options.allowOlder) refuseOlder(retained.payload, previousVersion, options, topic);
    received.length = 0;
    const echoed = new Promise<void>((resolve) => {
      onReceived = () => {
        if (received.some((m) => m.payload.equals(options.payload))) resolve();
      };
    });
    await within(Promise.race([client.publishAsync(topic, options.payload, { qos: 1, retain: true }), closed]), timeoutMs, 'waiting for the PUBACK');
    await within(Promise.race([echoed, closed]), timeoutMs, `reading the message back from ${topic} (dropped by the ACL for user ${options.username}?)`);
    return { topic, previousVersion, replacedUnverified: opened !== undefined && !opened.ok };
  } finally {
    client.removeAllListeners('close');
    await client.endAsync(true).catch(() => undefined);
  }
}

function refuseOlder(retained: Buffer, previous: number | null, options: PublishRulesOptions, topic: string): void {
  const same = retained.equals(options.payload);
  if (previous === null || previous < options.version || same) return;
  const what = previous === options.version ? `other rules at the same version ${previous}` : `rules version ${previous}`;
  throw new RulesPublishError('EDGEPAY_RULES_OLDER_THAN_RETAINED', `${topic} retains ${what}; publish a version above ${previous} (nodes ignore anything else, and nodes starting later would get this older set)`, {
    topic,
    retainedVersion: previous,
    version: options.version,
  });
}

function connectTo(options: PublishRulesOptions, timeoutMs: number): Promise<MqttClient> {
  const clientOptions: IClientOptions = {
    // A one-off client: no session to keep, and an id that cannot take over a node's session.
    clientId: `edgepay-rules-${randomBytes(6).toString('hex')}`,
    clean: true,
    protocolVersion: 4,
    username: options.username,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    ...(options.password === undefined ? {} : { password: options.password }),
    ...options.tls,
  };
  return new Promise((resolve, reject) => {
    const client = connect(options.brokerUrl, clientOptions);
    let settled = false;
    const fail = (detail: string) => {
      if (settled) return;
      settled = true;
      client.end(true);
      reject(new RulesPublishError('EDGEPAY_RULES_UNREACHABLE', `cannot connect to ${options.brokerUrl} as ${options.username}: ${detail}`, { brokerUrl: options.brokerUrl }));
    };
    // Kept after connecting: an 'error' without a listener would throw; a broken link shows as 'close'.
    client.on('error', (error) => fail(error.message));
    client.once('close', () => fail('connection closed'));
    client.once('connect', () => {
      settled = true;
      resolve(client);
    });
  });
}

async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RulesPublishError('EDGEPAY_RULES_NOT_ACCEPTED', `no answer from the broker after ${timeoutMs} ms while ${what}`, { timeoutMs })), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
