import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { connectCentreClient } from '../central/centre-mqtt-client.js';
import type { ForwardBatch } from '../central/batch.js';
import type { BatchAnswer } from '../central/centre.js';
import { answerTopic, authorizeTopic, uplinkTopic } from '../central/centre-topics.js';
import { decodeAnyAnswer, encodeOnlineRequest, encodeRequest } from '../central/centre-wire.js';
import type { OnlineDecision, OnlineRequest } from '../central/online.js';
import { EdgepayError } from '../errors.js';
import type { CentreLink } from './uplink.js';

export interface MqttCentreLinkOptions {
  readonly brokerUrl: string;
  readonly username: string;
  readonly password?: string;
  readonly fleet: string;
  readonly store: string;
  /** This node: batches go out on its `uplink` topic, answers come back on its `centre` topic. */
  readonly node: string;
  /** No answer within this is a lost batch or a lost answer: the uplink sends it again later. */
  readonly answerTimeoutMs: number;
}

type Decoded = NonNullable<ReturnType<typeof decodeAnyAnswer>>;

interface Waiting {
  readonly resolve: (answer: Decoded) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The node's link to the centre over the fleet's MQTT: request/response with a correlation id in
 * the message itself (MQTT 3.1.1 has no response properties). Its own client, apart from the
 * replicator's, so a long batch never queues behind replication traffic.
 */
export class MqttCentreLink implements CentreLink {
  private readonly waiting = new Map<string, Waiting>();

  private client!: MqttClient;

  private constructor(private readonly options: MqttCentreLinkOptions) {}

  static async open(options: MqttCentreLinkOptions): Promise<MqttCentreLink> {
    const link = new MqttCentreLink(options);
    try {
      link.client = await connectCentreClient(
        {
          brokerUrl: options.brokerUrl,
          clientId: `${options.node}-uplink`,
          username: options.username,
          ...(options.password === undefined ? {} : { password: options.password }),
          filters: answerTopic(options.fleet, options.store, options.node),
          onError: () => undefined,
        },
        (_topic, payload) => link.receive(payload),
      );
    } catch (error) {
      throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `cannot reach the broker at ${options.brokerUrl}: ${(error as Error).message}`, { brokerUrl: options.brokerUrl }, { cause: error });
    }
    return link;
  }

  private receive(payload: Buffer): void {
    const decoded = decodeAnyAnswer(payload);
    if (decoded === undefined) return;
    const waiting = this.waiting.get(decoded.correlationId);
    if (waiting === undefined) return; // an answer to a request already given up on: it is sent again anyway
    this.waiting.delete(decoded.correlationId);
    clearTimeout(waiting.timer);
    waiting.resolve(decoded);
  }

  async send(batch: ForwardBatch): Promise<BatchAnswer> {
    const { fleet, store, node, answerTimeoutMs } = this.options;
    const correlationId = `${batch.batchId}#${randomUUID()}`;
    const decoded = await this.request(uplinkTopic(fleet, store, node), encodeRequest(correlationId, batch), correlationId, answerTimeoutMs, `batch ${batch.batchId}`);
    if (!('answer' in decoded)) throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `the centre answered batch ${batch.batchId} with something else`, { batchId: batch.batchId });
    return decoded.answer;
  }

  async authorize(request: OnlineRequest, timeoutMs: number): Promise<OnlineDecision> {
    const { fleet, store, node } = this.options;
    const correlationId = `auth:${request.idempotencyKey}#${randomUUID()}`;
    const decoded = await this.request(authorizeTopic(fleet, store, node), encodeOnlineRequest({ correlationId, kind: 'authorize', request }), correlationId, timeoutMs, `authorization ${request.idempotencyKey}`);
    if (!('online' in decoded)) throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'the centre answered an authorization with something else', { idempotencyKey: request.idempotencyKey });
    return decoded.online;
  }

  async reverse(origin: string, idempotencyKey: string, timeoutMs: number): Promise<void> {
    const { fleet, store, node } = this.options;
    const correlationId = `rev:${idempotencyKey}#${randomUUID()}`;
    await this.request(authorizeTopic(fleet, store, node), encodeOnlineRequest({ correlationId, kind: 'reverse', origin, idempotencyKey }), correlationId, timeoutMs, `reversal ${idempotencyKey}`);
  }

  private request(topic: string, payload: Buffer, correlationId: string, timeoutMs: number, what: string): Promise<Decoded> {
    return new Promise<Decoded>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `no answer from the centre to ${what} within ${timeoutMs} ms`, { what, timeoutMs }));
      }, timeoutMs);
      this.waiting.set(correlationId, { resolve, reject, timer });
      this.client.publish(topic, payload, { qos: 1 }, (error) => {
        if (error === undefined || error === null) return;
        const waiting = this.waiting.get(correlationId);
        if (waiting === undefined) return;
        this.waiting.delete(correlationId);
        clearTimeout(waiting.timer);
        reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `${what} not published: ${error.message}`, { what }, { cause: error }));
      });
    });
  }

  async close(): Promise<void> {
    for (const [id, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'the link to the centre closed', { correlationId: id }));
    }
    this.waiting.clear();
    await this.client.endAsync();
  }
}
