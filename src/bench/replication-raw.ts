import { type MqttClient, connect } from 'mqtt';
import { LatencyRecorder, type LatencySummary, ratePerSecond, roundTo } from './latency.js';

export interface RawOptions {
  readonly url: string;
  readonly username: string;
  readonly password: string;
  readonly topic: string;
  /** The bytes of a real signed entry envelope; its first 4 are overwritten with a message number. */
  readonly payload: Buffer;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Publishes sent and not yet acknowledged by the broker, at most: the replicator's flow control. */
  readonly window: number;
  /** Messages per second; absent: as fast as the window allows. */
  readonly ratePerSec?: number;
}

export interface RawResult {
  readonly window: number;
  readonly payloadBytes: number;
  /** The paced rate asked for; null when saturating the window. */
  readonly offeredPerSec: number | null;
  /** Measured messages received (warm-up excluded). */
  readonly messages: number;
  readonly seconds: number;
  readonly msgsPerSec: number;
  /** publish() call → the subscriber's message event. */
  readonly latency: LatencySummary;
  /** Published and never received within the drain time: none are expected at QoS 1. */
  readonly lost: number;
}

const DRAIN_TIMEOUT_MS = 5_000;
const TICK_MS = 1;

/**
 * The floor under replication: mqtt.js QoS 1 from one client to another through the same broker,
 * with the same payload size and in-flight window, and nothing else (no journal, no signature, no
 * replica commit). One process and one clock, so the one-way latency needs no clock sync.
 */
export async function measureRaw(options: RawOptions): Promise<RawResult> {
  const subscriber = await openRawClient(options, 'sub');
  let publisher: MqttClient | undefined;
  try {
    publisher = await openRawClient(options, 'pub');
    await subscribeRaw(subscriber, options.topic);
    return await run(publisher, subscriber, options);
  } finally {
    await Promise.allSettled([publisher?.endAsync(true), subscriber.endAsync(true)]);
  }
}

function run(publisher: MqttClient, subscriber: MqttClient, options: RawOptions): Promise<RawResult> {
  const sentAt: number[] = [];
  const latency = new LatencyRecorder();
  const startedAt = performance.now();
  const measureFrom = startedAt + options.warmupSeconds * 1000;
  const deadline = measureFrom + options.seconds * 1000;
  let received = 0;
  let lastReceivedAt = measureFrom;
  let inflight = 0;
  let sendingDone = false;
  let finish: () => void = () => undefined;

  subscriber.on('message', (_topic, payload) => {
    const now = performance.now();
    received++;
    const sent = sentAt[payload.readUInt32BE(0)];
    if (sent !== undefined && sent >= measureFrom) {
      latency.add(now - sent);
      lastReceivedAt = now;
    }
    if (sendingDone && received === sentAt.length) finish();
  });

  const send = (): void => {
    const n = sentAt.length;
    const payload = Buffer.from(options.payload);
    payload.writeUInt32BE(n, 0);
    inflight++;
    sentAt.push(performance.now());
    publisher.publish(options.topic, payload, { qos: 1 }, () => {
      inflight--;
      if (options.ratePerSec === undefined) fill();
    });
  };
  const fill = (): void => {
    if (sendingDone) return;
    if (performance.now() >= deadline) return stopSending();
    while (inflight < options.window) send();
  };
  const rate = options.ratePerSec;
  const tick = (): void => {
    if (sendingDone || rate === undefined) return;
    const now = performance.now();
    if (now >= deadline) return stopSending();
    const due = Math.floor(((now - startedAt) * rate) / 1000);
    while (sentAt.length < due && inflight < options.window) send();
    setTimeout(tick, TICK_MS);
  };
  const stopSending = (): void => {
    sendingDone = true;
    if (received === sentAt.length) finish();
  };

  return new Promise<RawResult>((resolve) => {
    const drain = setTimeout(() => finish(), (options.warmupSeconds + options.seconds) * 1000 + DRAIN_TIMEOUT_MS);
    finish = () => {
      clearTimeout(drain);
      finish = () => undefined;
      const summary = latency.summary();
      resolve({
        window: options.window,
        payloadBytes: options.payload.length,
        offeredPerSec: rate ?? null,
        messages: summary.count,
        seconds: roundTo((lastReceivedAt - measureFrom) / 1000, 3),
        msgsPerSec: ratePerSecond(summary.count, lastReceivedAt - measureFrom),
        latency: summary,
        lost: sentAt.length - received,
      });
    };
    if (rate === undefined) fill();
    else tick();
  });
}

/** A plain mqtt.js client for raw traffic: clean session, MQTT 3.1.1, no reconnects. */
export async function openRawClient(options: { readonly url: string; readonly username: string; readonly password: string }, role: string): Promise<MqttClient> {
  const client = connect(options.url, {
    clientId: `${options.username}-${role}`,
    username: options.username,
    password: options.password,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error(`raw ${role} client: the broker closed the connection before CONNACK`)));
    });
  } catch (error) {
    client.end(true);
    throw error;
  }
  return client;
}

export async function subscribeRaw(client: MqttClient, topic: string): Promise<void> {
  const granted = await client.subscribeAsync(topic, { qos: 1 });
  if (granted.some((g) => g.qos === 128)) throw new Error(`the broker refused the raw subscription to ${topic}: check the ACL`);
}
