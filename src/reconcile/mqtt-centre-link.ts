import { type KeyObject, randomUUID } from 'node:crypto';
import type { SignedCentreAnswer } from '../central/answer-signature.js';
import type { ForwardBatch } from '../central/batch.js';
import type { BatchAnswer } from '../central/centre.js';
import { answerTopic, authorizeTopic, uplinkTopic } from '../central/centre-topics.js';
import { MAX_WIRE_BYTES, decodeCentreAnswer, encodeOnlineRequest, encodeRequest } from '../central/centre-wire.js';
import type { OnlineDecision, OnlineRequest } from '../central/online.js';
import { EdgepayError } from '../errors.js';
import type { BrokerTlsOptions } from '../platform/broker-tls.js';
import { type Clock, systemClock } from '../platform/clock.js';
import { ANSWER_REJECT_REASONS, type AnswerRejectReason, type Asked, checkAnswer } from './answer-check.js';
import type { CentreTransport } from './centre-transport.js';
import { openOwnClientTransport, toolClientId } from './own-client-transport.js';
import type { CentreLink } from './uplink.js';

/** Who the link speaks for and whom it believes; the same whichever transport carries it. */
export interface CentreLinkOptions {
  readonly fleet: string;
  readonly store: string;
  /** This node: batches go out on its `uplink` topic, answers come back on its `centre` topic. */
  readonly node: string;
  /** No answer within this is a lost batch or a lost answer: the uplink sends it again later. */
  readonly answerTimeoutMs: number;
  /** The centre's answer key (centre-signing.pub): only answers it signed are believed. */
  readonly centreKey: KeyObject;
  /** Wall time, for the answers' expiry. */
  readonly clock?: Clock;
}

/** A link with a client of its own (see own-client-transport.ts for when that is allowed). */
export interface MqttCentreLinkOptions extends CentreLinkOptions {
  readonly brokerUrl: string;
  readonly username: string;
  readonly password?: string;
  /** On mqtts://: the CA and the node's client certificate, as the replicator uses them. */
  readonly tls?: BrokerTlsOptions;
}

/** The centre's signed report of one origin, as the node checked it. */
export type ReportAnswer = Extract<SignedCentreAnswer, { kind: 'report' }>;

/** A report request's correlation id: random, so no answer to an earlier request can match it. */
export const REPORT_CORRELATION = /^report#[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Waiting {
  readonly asked: Asked;
  readonly resolve: (answer: SignedCentreAnswer) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The node's link to the centre over the fleet's MQTT: request/response with a correlation id in
 * the message itself (MQTT 3.1.1 has no response properties), over a CentreTransport. It keeps
 * what it asked under each correlation id and believes only the answer the centre signed for
 * exactly that (answer-check.ts); correlation ids are random per request, so an old answer
 * matches nothing.
 */
export class MqttCentreLink implements CentreLink {
  private readonly waiting = new Map<string, Waiting>();
  /** Answers not believed, by why: each one was treated as no answer. */
  readonly rejectedAnswers = Object.fromEntries(ANSWER_REJECT_REASONS.map((reason) => [reason, 0])) as Record<AnswerRejectReason, number>;

  constructor(
    private readonly transport: CentreTransport,
    private readonly options: CentreLinkOptions,
  ) {
    transport.onAnswer((payload) => this.receive(payload));
  }

  /** With a client of its own: for processes other than the running node (CLI tools, tests). */
  static async open(options: MqttCentreLinkOptions): Promise<MqttCentreLink> {
    const transport = await openOwnClientTransport({
      brokerUrl: options.brokerUrl,
      username: options.username,
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      answerTopic: answerTopic(options.fleet, options.store, options.node),
      clientId: toolClientId(options.node, 'link'),
    });
    return new MqttCentreLink(transport, options);
  }

  private receive(payload: Buffer): void {
    const answer = decodeCentreAnswer(payload);
    if (answer === undefined) return void this.rejectedAnswers.malformed++;
    const waiting = this.waiting.get(answer.correlationId);
    // Late (the request was given up on and is sent again anyway), or a replay of an old answer.
    if (waiting === undefined) return void this.rejectedAnswers.unsolicited++;
    const { fleet, store, node, centreKey } = this.options;
    const verdict = checkAnswer(answer, waiting.asked, { fleet, store, node }, centreKey, (this.options.clock ?? systemClock).wallMs());
    // Not believed: as if nothing had come. The request stays waiting for the centre's own answer until its timeout.
    if (!verdict.ok) return void this.rejectedAnswers[verdict.reason]++;
    this.waiting.delete(answer.correlationId);
    clearTimeout(waiting.timer);
    waiting.resolve(answer);
  }

  async send(batch: ForwardBatch): Promise<BatchAnswer> {
    const { fleet, store, node, answerTimeoutMs } = this.options;
    // Unique and short: an idempotency key or batch id inside could pass the wire's 128 characters.
    const correlationId = `batch#${randomUUID()}`;
    const answer = await this.request(uplinkTopic(fleet, store, node), encodeRequest(correlationId, batch), correlationId, { kind: 'batch', batch }, answerTimeoutMs, `batch ${batch.batchId}`);
    if (answer.kind !== 'batch') throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `the centre answered batch ${batch.batchId} with something else`, { batchId: batch.batchId });
    return answer.answer;
  }

  async authorize(request: OnlineRequest, timeoutMs: number): Promise<OnlineDecision> {
    const { fleet, store, node } = this.options;
    const correlationId = `auth#${randomUUID()}`;
    const answer = await this.request(
      authorizeTopic(fleet, store, node),
      encodeOnlineRequest({ correlationId, kind: 'authorize', request }),
      correlationId,
      { kind: 'online', request },
      timeoutMs,
      `authorization ${request.idempotencyKey}`,
    );
    if (answer.kind !== 'online') throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'the centre answered an authorization with something else', { idempotencyKey: request.idempotencyKey });
    return answer.online;
  }

  async reverse(origin: string, idempotencyKey: string, timeoutMs: number): Promise<void> {
    const { fleet, store, node } = this.options;
    const correlationId = `rev#${randomUUID()}`;
    await this.request(
      authorizeTopic(fleet, store, node),
      encodeOnlineRequest({ correlationId, kind: 'reverse', origin, idempotencyKey }),
      correlationId,
      { kind: 'reversal', idempotencyKey },
      timeoutMs,
      `reversal ${idempotencyKey}`,
    );
  }

  /**
   * What the ledger holds of this node, as the centre signed it. `correlationId` may be given by a
   * process that asks through the running node and checks the signed answer itself
   * (reconcile-status.ts): it must be a fresh `report#<uuid>`.
   */
  async askReport(timeoutMs: number, correlationId: string = `report#${randomUUID()}`): Promise<ReportAnswer> {
    const { fleet, store, node } = this.options;
    if (!REPORT_CORRELATION.test(correlationId) || this.waiting.has(correlationId)) {
      throw new EdgepayError('EDGEPAY_BAD_INPUT', `correlation id ${JSON.stringify(correlationId.slice(0, 64))} is not a fresh report#<uuid>`, { correlationId: correlationId.slice(0, 64) });
    }
    const answer = await this.request(
      authorizeTopic(fleet, store, node),
      encodeOnlineRequest({ correlationId, kind: 'report', origin: node }),
      correlationId,
      { kind: 'report', origin: node },
      timeoutMs,
      'report request',
    );
    if (answer.kind !== 'report') throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'the centre answered a report request with something else', {});
    return answer;
  }

  /** Publishes a request and waits for the one answer the centre signed for exactly it. */
  private request(topic: string, payload: Buffer, correlationId: string, asked: Asked, timeoutMs: number, what: string): Promise<SignedCentreAnswer> {
    // The broker would drop it (message_size_limit) and the wait would only end at the timeout.
    if (payload.byteLength > MAX_WIRE_BYTES) {
      return Promise.reject(
        new EdgepayError('EDGEPAY_BAD_INPUT', `${what} is ${payload.byteLength} bytes, over the ${MAX_WIRE_BYTES}-byte message limit of the broker and the centre: lower centre.batchSize`, {
          what,
          bytes: payload.byteLength,
          limit: MAX_WIRE_BYTES,
        }),
      );
    }
    return new Promise<SignedCentreAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `no answer from the centre to ${what} within ${timeoutMs} ms`, { what, timeoutMs }));
      }, timeoutMs);
      this.waiting.set(correlationId, { asked, resolve, reject, timer });
      this.transport.publish(topic, payload, timeoutMs).catch((error: unknown) => {
        const waiting = this.waiting.get(correlationId);
        if (waiting === undefined) return;
        this.waiting.delete(correlationId);
        clearTimeout(waiting.timer);
        reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `${what} not published: ${(error as Error).message}`, { what }, { cause: error }));
      });
    });
  }

  async close(): Promise<void> {
    for (const [id, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'the link to the centre closed', { correlationId: id }));
    }
    this.waiting.clear();
    await this.transport.close();
  }
}
