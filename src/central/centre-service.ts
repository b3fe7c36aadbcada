import type { KeyObject } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { type ReconnectBackoff, connectCentreClient, openCentreClient } from './centre-mqtt-client.js';
import type { BrokerTlsOptions } from '../platform/broker-tls.js';
import type { Logger } from 'pino';
import type { ErrorCode } from '../errors.js';
import { type Clock, systemClock } from '../platform/clock.js';
import { ANSWER_VALIDITY_MS, type CentreAnswer, signAnswer } from './answer-signature.js';
import type { BatchAnswer, Centre } from './centre.js';
import { answerTopic, centreFilters, parseCentreTopic } from './centre-topics.js';
import { decodeOnlineRequest, decodeRequest, encodeCentreAnswer } from './centre-wire.js';

export interface CentreServiceOptions extends CentreLinkOptions {
  readonly centre: Centre;
}

/** Everything but the ledger: what `centre run` connects with before its ledger is open. */
export interface CentreLinkOptions {
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
  /** Between connection attempts (connect() only); CENTRE_RECONNECT_BACKOFF by default. */
  readonly backoff?: ReconnectBackoff;
  /** An attempt the broker does not answer fails after this long (connect() only; mqtt.js's 30 s by default). */
  readonly connectTimeoutMs?: number;
}

/** How long stop() waits for the broker to confirm the unsubscribe. */
const STOP_GRACE_MS = 2_000;

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
  /** The ledger it applies batches to; none until serve(): until then it takes nothing. */
  private centre: Centre | undefined;
  /** Subscribed on the current connection (connect() only; start() resolves subscribed). */
  private subscribedNow = false;
  /** It has taken batches at least once since it started. */
  private servedOnce = false;
  private lastFailure: string | undefined;
  /** Why the subscription on the current connection was not taken (the broker's ACL), if it was not. */
  private subscribeFailure: string | undefined;
  private lastAttemptAtMs = 0;

  private client!: MqttClient;

  private constructor(private readonly options: CentreLinkOptions) {}

  /**
   * Connected and subscribed before it resolves; rejects if the broker cannot be reached. For
   * tests and the demo, whose broker is there already.
   */
  static async start(options: CentreServiceOptions): Promise<CentreService> {
    const service = new CentreService(options);
    service.centre = options.centre;
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
      (topic, payload) => service.take(topic, payload),
    );
    service.subscribedNow = true;
    service.servedOnce = true;
    options.logger.info({ fleet: options.fleet, shareGroup: options.shareGroup ?? null }, 'centre taking batches');
    return service;
  }

  /**
   * Returns at once and keeps connecting to the broker with back-off, whether or not it is there
   * (`centre run` after a power cut). It subscribes to nothing, so it takes no batch, until serve()
   * gives it a ledger: a batch is answered only once the ledger holds it, and a centre with no ledger
   * must leave the fleet's batches to the members of its share group that have one.
   */
  static connect(options: CentreLinkOptions): CentreService {
    const service = new CentreService(options);
    const { logger } = options;
    service.client = openCentreClient(
      {
        brokerUrl: options.brokerUrl,
        clientId: options.clientId,
        username: options.username,
        ...(options.password === undefined ? {} : { password: options.password }),
        ...(options.tls === undefined ? {} : { tls: options.tls }),
        ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
        ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
        onAttemptFailed: (error, retryInMs) => {
          service.lastFailure = error.message;
          logger.warn({ err: error, brokerUrl: options.brokerUrl, retryInMs }, 'centre broker not reachable; trying again');
        },
      },
      (topic, payload) => service.take(topic, payload),
    );
    // The connection's last sign of life: an attempt begun, or a connection just lost (the next attempt is armed then).
    service.lastAttemptAtMs = Date.now();
    service.client.on('reconnect', () => (service.lastAttemptAtMs = Date.now()));
    service.client.on('close', () => {
      service.subscribedNow = false;
      service.lastAttemptAtMs = Date.now();
    });
    service.client.on('connect', () => {
      service.lastFailure = undefined;
      logger.info({ brokerUrl: options.brokerUrl }, 'centre connected to its broker');
      service.subscribe();
    });
    return service;
  }

  /** From now on batches are applied to `centre`'s ledger: subscribed now if connected, and on every connect. */
  serve(centre: Centre): void {
    if (this.centre !== undefined) return;
    this.centre = centre;
    this.subscribe();
  }

  /** Whether the broker connection is up (edgepay_broker_up, /health). */
  get connected(): boolean {
    return this.client.connected;
  }

  /** Subscribed with a ledger behind it: batches sent now are taken and answered. */
  get serving(): boolean {
    return this.centre !== undefined && this.subscribedNow && this.client.connected;
  }

  /** Whether it has taken batches since it started (it may have lost its broker since). */
  get startedServing(): boolean {
    return this.servedOnce;
  }

  /** Why it takes no batches from its broker now: the last connection attempt's failure, or the subscription's. */
  get brokerProblem(): string | undefined {
    if (!this.client.connected) return this.lastFailure ?? 'connecting';
    if (this.centre === undefined || this.subscribedNow) return undefined;
    return this.subscribeFailure ?? 'subscribing';
  }

  /** Connected, or still trying: the last attempt began within `withinMs` (connect() only). */
  isTrying(withinMs: number): boolean {
    return this.client.connected || Date.now() - this.lastAttemptAtMs < withinMs;
  }

  /** Stops taking batches; answers the ones being applied first. */
  async stop(): Promise<void> {
    if (this.subscribedNow && this.client.connected) {
      await new Promise<void>((resolve) => {
        // A broker lost just now never answers the UNSUBSCRIBE: the batches in flight still finish.
        const timer = setTimeout(resolve, STOP_GRACE_MS);
        this.client.unsubscribe(centreFilters(this.options.fleet, this.options.shareGroup), () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await Promise.all([...this.inFlight]);
    // Without a broker there is nobody to say goodbye to, and unacknowledged answers would hold the end forever.
    await this.client.endAsync(!this.client.connected);
  }

  /** Dies without a goodbye: in-flight batches are neither finished nor answered (fault tests). */
  kill(): void {
    this.client.end(true);
  }

  private take(topic: string, payload: Buffer): void {
    const handled = this.handle(topic, payload).finally(() => this.inFlight.delete(handled));
    this.inFlight.add(handled);
  }

  private subscribe(): void {
    if (this.centre === undefined || !this.client.connected) return;
    const { logger, fleet, shareGroup } = this.options;
    this.client.subscribe(centreFilters(fleet, shareGroup), { qos: 1 }, (error, granted) => {
      if (error) {
        this.subscribeFailure = `subscription failed: ${error.message}`;
        return logger.warn({ err: error }, 'centre subscription failed; trying again on the next connect');
      }
      const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length > 0) {
        this.subscribeFailure = `the broker refused the subscriptions (${refused.join(', ')}): check its ACL`;
        return logger.error({ refused }, "the broker refused the centre's subscriptions: check its ACL");
      }
      this.subscribeFailure = undefined;
      this.subscribedNow = true;
      this.servedOnce = true;
      logger.info({ fleet, shareGroup: shareGroup ?? null }, 'centre taking batches');
    });
  }

  private async handle(topic: string, payload: Buffer): Promise<void> {
    const { logger, fleet } = this.options;
    const centre = this.centre;
    // Never subscribed without a ledger; should anything arrive regardless, it goes unanswered and its node sends it again.
    if (centre === undefined) return;
    const at = parseCentreTopic(fleet, topic);
    if (at === undefined) return;
    this.stats.received++;
    if (at.leaf === 'authorize') return this.handleOnline(at, payload, centre);
    this.stats.batches++;
    const request = decodeRequest(payload);
    if ('problem' in request) {
      this.stats.malformed++;
      logger.warn({ topic, problem: request.problem }, 'malformed batch refused unread');
      return;
    }
    const { batch } = request;
    let answer: BatchAnswer;
    if (batch.sender !== at.node || batch.store !== at.store) {
      // The broker authenticated the topic's node: a batch claiming another sender or store is refused.
      answer = {
        ok: false as const,
        batchId: batch.batchId,
        origin: batch.origin,
        headSeq: 0,
        error: { code: 'EDGEPAY_CENTRE_BATCH_SHAPE' as const, message: `batch from ${batch.sender} of ${batch.store} sent on ${at.node}'s topic in ${at.store}` },
      };
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
  private async handleOnline(at: { store: string; node: string }, payload: Buffer, centre: Centre): Promise<void> {
    const { logger } = this.options;
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
