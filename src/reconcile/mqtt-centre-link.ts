import { randomUUID } from 'node:crypto';
import { type MqttClient, connect } from 'mqtt';
import type { ForwardBatch } from '../central/batch.js';
import type { BatchAnswer } from '../central/centre.js';
import { answerTopic, uplinkTopic } from '../central/centre-topics.js';
import { decodeAnswer, encodeRequest } from '../central/centre-wire.js';
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

interface Waiting {
  readonly resolve: (answer: BatchAnswer) => void;
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

  private constructor(
    private readonly options: MqttCentreLinkOptions,
    private readonly client: MqttClient,
  ) {
    client.on('message', (_topic, payload) => {
      const decoded = decodeAnswer(payload);
      if (decoded === undefined) return;
      const waiting = this.waiting.get(decoded.correlationId);
      if (waiting === undefined) return; // an answer to a batch already given up on: it is sent again anyway
      this.waiting.delete(decoded.correlationId);
      clearTimeout(waiting.timer);
      waiting.resolve(decoded.answer);
    });
  }

  static async open(options: MqttCentreLinkOptions): Promise<MqttCentreLink> {
    const client = connect(options.brokerUrl, {
      clientId: `${options.node}-uplink`,
      username: options.username,
      ...(options.password === undefined ? {} : { password: options.password }),
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 500,
      resubscribe: true,
    });
    const link = new MqttCentreLink(options, client);
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void => reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `cannot reach the broker at ${options.brokerUrl}: ${error.message}`, { brokerUrl: options.brokerUrl }, { cause: error }));
      client.once('error', fail);
      client.once('connect', () => {
        client.off('error', fail);
        client.on('error', () => undefined);
        client.subscribe(answerTopic(options.fleet, options.store, options.node), { qos: 1 }, (error) => (error ? fail(error) : resolve()));
      });
    }).catch(async (error: unknown) => {
      await client.endAsync(true);
      throw error;
    });
    return link;
  }

  send(batch: ForwardBatch): Promise<BatchAnswer> {
    const { fleet, store, node, answerTimeoutMs } = this.options;
    const correlationId = `${batch.batchId}#${randomUUID()}`;
    return new Promise<BatchAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `no answer from the centre to batch ${batch.batchId} within ${answerTimeoutMs} ms; it is sent again`, { batchId: batch.batchId }));
      }, answerTimeoutMs);
      this.waiting.set(correlationId, { resolve, reject, timer });
      this.client.publish(uplinkTopic(fleet, store, node), encodeRequest(correlationId, batch), { qos: 1 }, (error) => {
        if (error === undefined || error === null) return;
        const waiting = this.waiting.get(correlationId);
        if (waiting === undefined) return;
        this.waiting.delete(correlationId);
        clearTimeout(waiting.timer);
        reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `batch ${batch.batchId} not published: ${error.message}`, { batchId: batch.batchId }, { cause: error }));
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
