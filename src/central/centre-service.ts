import type { KeyObject } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { connectCentreClient } from './centre-mqtt-client.js';
import type { BrokerTlsOptions } from '../platform/broker-tls.js';
import type { Logger } from 'pino';
import type { ErrorCode } from '../errors.js';
import { type Clock, systemClock } from '../platform/clock.js';
import { ANSWER_VALIDITY_MS, type CentreAnswer, signAnswer } from './answer-signature.js';
import type { Centre } from './centre.js';
import { answerTopic, centreFilters, parseCentreTopic } from './centre-topics.js';
import { decodeOnlineRequest, decodeRequest, encodeCentreAnswer } from './centre-wire.js';

export interface CentreServiceOptions {
  readonly centre: Centre;
  readonly fleet: string;
  readonly brokerUrl: string;
  readonly username: string;
  readonly password?: string;
  /** On mqtts://: the CA to verify the broker with and the centre's client certificate. */
  readonly tls?: BrokerTlsOptions;
  /** Several centre processes with the same group split the fleet's batches between them. */
  readonly shareGroup?: string;
  readonly clientId: string;
  readonly logger: Logger;
  /** The centre's answer key (centre-signing.key): nodes believe only answers it signed. */
  readonly signingKey: KeyObject;
  /** Wall time, for the answers' expiry. */
  readonly clock?: Clock;
}

/** An answer before it is sealed: whom it is for and until when are added when it is signed. */
type AnswerDraft = CentreAnswer extends infer A ? (A extends CentreAnswer ? Omit<A, 'node' | 'expiresMs'> : never) : never;

export interface CentreServiceStats {
  received: number;
  /** Batches among the messages received (the rest are online requests). */
  batches: number;
  answered: number;
  refused: number;
  malformed: number;
}

/**
 * The centre on the fleet's MQTT: takes batches from every node's `uplink` topic, applies them to
 * the ledger and answers on the node's `centre` topic. A batch whose answer never arrives is sent
 * again by its node and answered the same way (the ledger is idempotent), so neither a lost
 * message nor a centre process that dies mid-batch can lose or double a payment.
 */
export class CentreService {
  readonly stats: CentreServiceStats = { received: 0, batches: 0, answered: 0, refused: 0, malformed: 0 };
  /** Batches this service refused before the ledger saw them (the centre counts its own refusals), by code. */
  readonly refusals = new Map<ErrorCode, number>();
  /** Online decisions answered, by response code. */
  readonly onlineDecisions = new Map<string, { readonly approved: boolean; count: number }>();
  private readonly inFlight = new Set<Promise<void>>();

  private client!: MqttClient;

  private constructor(private readonly options: CentreServiceOptions) {}

  static async start(options: CentreServiceOptions): Promise<CentreService> {
    const service = new CentreService(options);
    service.client = await connectCentreClient(
      {
        brokerUrl: options.brokerUrl,
        clientId: options.clientId,
        username: options.username,
        ...(options.password === undefined ? {} : { password: options.password }),
        ...(options.tls === undefined ? {} : { tls: options.tls }),
        filters: centreFilters(options.fleet, options.shareGroup),
        onError: (error) => options.logger.warn({ err: error }, 'centre broker connection error'),
      },
      (topic, payload) => {
        const handled = service.handle(topic, payload).finally(() => service.inFlight.delete(handled));
        service.inFlight.add(handled);
      },
    );
    options.logger.info({ fleet: options.fleet, shareGroup: options.shareGroup ?? null }, 'centre taking batches');
    return service;
  }

  /** Whether the broker connection is up (the systemd watchdog is fed only then). */
  get connected(): boolean {
    return this.client.connected;
  }

  /** Stops taking batches; answers the ones being applied first. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.client.unsubscribe(centreFilters(this.options.fleet, this.options.shareGroup), () => resolve()));
    await Promise.all([...this.inFlight]);
    await this.client.endAsync();
  }

  /** Dies without a goodbye: in-flight batches are neither finished nor answered (fault tests). */
  kill(): void {
    this.client.end(true);
  }

  private async handle(topic: string, payload: Buffer): Promise<void> {
    const { logger, fleet, centre } = this.options;
    const at = parseCentreTopic(fleet, topic);
    if (at === undefined) return;
    this.stats.received++;
    if (at.leaf === 'authorize') return this.handleOnline(at, payload);
    this.stats.batches++;
    const request = decodeRequest(payload);
    if ('problem' in request) {
      this.stats.malformed++;
      logger.warn({ topic, problem: request.problem }, 'malformed batch refused unread');
      return;
    }
    const { batch } = request;
    let answer;
    if (batch.sender !== at.node || batch.store !== at.store) {
      // The broker authenticated the topic's node: a batch claiming another sender or store is refused.
      answer = { ok: false as const, batchId: batch.batchId, origin: batch.origin, headSeq: 0, error: { code: 'EDGEPAY_CENTRE_BATCH_SHAPE' as const, message: `batch from ${batch.sender} of ${batch.store} sent on ${at.node}'s topic in ${at.store}` } };
      this.refusals.set(answer.error.code, (this.refusals.get(answer.error.code) ?? 0) + 1);
    } else {
      try {
        answer = await centre.ingest(batch);
      } catch (error) {
        // The ledger failed (database down): no answer; the node sends the batch again.
        logger.error({ err: error, batchId: batch.batchId }, 'batch not applied; the node will send it again');
        return;
      }
    }
    if (!answer.ok) this.stats.refused++;
    this.answer(at, { kind: 'batch', correlationId: request.correlationId, answer }, batch.batchId);
  }

  /** Online authorizations, reversals and report requests: the request's origin is the topic's node, always. */
  private async handleOnline(at: { store: string; node: string }, payload: Buffer): Promise<void> {
    const { logger, centre } = this.options;
    const request = decodeOnlineRequest(payload);
    if (request === undefined || (request.kind === 'authorize' ? request.request.origin : request.origin) !== at.node) {
      this.stats.malformed++;
      logger.warn({ node: at.node }, 'malformed or misaddressed online request refused unread');
      return;
    }
    try {
      if (request.kind === 'authorize') {
        const online = await centre.authorizeOnline({ ...request.request, store: at.store });
        const counted = this.onlineDecisions.get(online.code) ?? { approved: online.approved, count: 0 };
        counted.count++;
        this.onlineDecisions.set(online.code, counted);
        // The answer names what it decides, so it cannot be taken for another payment's.
        const { idempotencyKey, amountMinor, currency, cardToken } = request.request;
        this.answer(at, { kind: 'online', correlationId: request.correlationId, asked: { idempotencyKey, amountMinor, currency, cardToken }, online }, idempotencyKey);
      } else if (request.kind === 'report') {
        // Only the asking node's own report: the topic authenticated the node, and a store's peers need not read each other's totals.
        const report = (await centre.backend.originReport(at.node)) ?? null;
        this.answer(at, { kind: 'report', correlationId: request.correlationId, origin: at.node, report }, `report of ${at.node}`);
      } else {
        await centre.reverseOnline(at.node, request.idempotencyKey);
        this.answer(at, { kind: 'reversal', correlationId: request.correlationId, idempotencyKey: request.idempotencyKey }, request.idempotencyKey);
      }
    } catch (error) {
      // No answer: the node decides offline when it times out (and reverses), which is safe.
      logger.error({ err: error, kind: request.kind }, 'online request not served');
    }
  }

  /** Signs the answer for the topic's node (the requester), good for ANSWER_VALIDITY_MS from now, and publishes it. */
  private answer(at: { store: string; node: string }, draft: AnswerDraft, what: string): void {
    const { logger, fleet, signingKey } = this.options;
    const expiresMs = (this.options.clock ?? systemClock).wallMs() + ANSWER_VALIDITY_MS;
    const signed = signAnswer({ fleet, store: at.store }, { ...draft, node: at.node, expiresMs } as CentreAnswer, signingKey);
    this.client.publish(answerTopic(fleet, at.store, at.node), encodeCentreAnswer(signed), { qos: 1 }, (error) => {
      if (error) logger.warn({ err: error, what }, 'answer not delivered; the node will ask again');
      else this.stats.answered++;
    });
  }
}
