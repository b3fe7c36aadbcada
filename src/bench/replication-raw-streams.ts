import type { MqttClient } from 'mqtt';
import { epochNowMs } from './epoch-now.js';
import { openRawClient, subscribeRaw } from './replication-raw.js';

export interface RawStreamsPlan {
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** This node's raw topic, and its peers' (the streams it receives). */
  readonly topic: string;
  readonly peerTopics: readonly string[];
  readonly payload: Uint8Array;
  readonly window: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

export interface RawStreamsSent {
  /** Messages this node published in the measured window (by send time), and in all. */
  readonly measured: number;
  readonly total: number;
}

export interface RawStreamsReceived {
  /** Measured messages received from every peer. */
  readonly messages: number;
  /** From the measured window's start to the last measured message received. */
  readonly seconds: number;
  /** Publish → receipt of each measured message, in ms (epoch-based clock, shared by the threads). */
  readonly latencyMs: Float64Array;
  /** Messages published by peers and never received: none are expected at QoS 1. */
  readonly lost: number;
}

const HEADER_BYTES = 16;

/**
 * One node's side of the raw limit in the fleet's shape: its own QoS 1 stream, as fast as the
 * window allows, and its peers' streams received, on one mqtt.js client in the node's thread, as
 * its replicator will later use. Each payload carries its sequence number and send time, so any
 * thread can time it.
 */
export class RawStreams {
  private sent = 0;
  private measuredSent = 0;
  private received = 0;
  private readonly latency: number[] = [];
  private measureFrom = 0;
  private deadline = 0;
  private lastReceivedAt = 0;
  private waiter: { readonly expected: number; readonly resolve: () => void } | undefined;

  private constructor(
    private readonly plan: RawStreamsPlan,
    private readonly client: MqttClient,
  ) {
    client.on('message', (_topic, payload) => this.onMessage(payload));
  }

  static async open(plan: RawStreamsPlan): Promise<RawStreams> {
    if (plan.payload.byteLength < HEADER_BYTES) throw new RangeError(`raw payload of ${plan.payload.byteLength} bytes is shorter than its ${HEADER_BYTES}-byte header`);
    const client = await openRawClient(plan, 'fleet');
    try {
      for (const topic of plan.peerTopics) await subscribeRaw(client, topic);
    } catch (error) {
      client.end(true);
      throw error;
    }
    return new RawStreams(plan, client);
  }

  /** Publishes for the warm-up and the measured seconds, then says how much went out. */
  async send(): Promise<RawStreamsSent> {
    const startedAt = epochNowMs();
    this.measureFrom = startedAt + this.plan.warmupSeconds * 1000;
    this.deadline = this.measureFrom + this.plan.seconds * 1000;
    this.lastReceivedAt = this.measureFrom;
    await new Promise<void>((resolve) => {
      let inflight = 0;
      const fill = (): void => {
        if (epochNowMs() >= this.deadline) {
          if (inflight === 0) resolve();
          return;
        }
        while (inflight < this.plan.window) {
          inflight++;
          this.publishOne(() => {
            inflight--;
            fill();
          });
        }
      };
      fill();
    });
    return { measured: this.measuredSent, total: this.sent };
  }

  /** Waits until `expected` messages in all came from the peers (or the timeout), then reports. */
  async receivedAll(expected: number, timeoutMs: number): Promise<RawStreamsReceived> {
    if (this.received < expected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.waiter = {
          expected,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    }
    this.waiter = undefined;
    return { messages: this.latency.length, seconds: (this.lastReceivedAt - this.measureFrom) / 1000, latencyMs: Float64Array.from(this.latency), lost: Math.max(0, expected - this.received) };
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }

  private publishOne(done: () => void): void {
    const payload = Buffer.from(this.plan.payload);
    const at = epochNowMs();
    payload.writeUInt32BE(this.sent++, 0);
    payload.writeDoubleBE(at, 8);
    if (at >= this.measureFrom) this.measuredSent++;
    this.client.publish(this.plan.topic, payload, { qos: 1 }, done);
  }

  private onMessage(payload: Buffer): void {
    const now = epochNowMs();
    this.received++;
    const sentAt = payload.readDoubleBE(8);
    if (sentAt >= this.measureFrom && sentAt < this.deadline) {
      this.latency.push(now - sentAt);
      this.lastReceivedAt = now;
    }
    if (this.waiter !== undefined && this.received >= this.waiter.expected) this.waiter.resolve();
  }
}
