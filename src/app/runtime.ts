import type { Registry } from 'prom-client';
import { type Logger, pino } from 'pino';
import { ActorError, ActorMetrics, type ChildExit, SpareThreads, type SupervisorHandle } from '../actors/index.js';
import { EdgepayError } from '../errors.js';
import type { JournalEntry } from '../journal/entry.js';
import { JournalReader } from '../journal/journal-reader.js';
import type { AuthorizationRequest, FollowUpRequest, Outcome } from '../standin/index.js';
import type { PaymentRequest } from '../node/intake-protocol.js';
import { type NodeConfig, journalPathOf, paymentsPathOf } from '../config/node-config.js';
import { ActorRegistry } from './registry.js';
import { unwrapRemote } from '../node/remote-errors.js';
import { retryWhileRestarting } from '../node/retry.js';
import { type DecisionPathOptions, decideDurably, decisionPathOptions } from '../node/durable-decision.js';
import { type NodeActorCall, type NodeActorId, type NodeActors, nodeActorCall } from '../node/actor-directory.js';
import type { ReplyOf } from '../actors/typed-protocol.js';
import { LaneService } from '../lanes/lane-service.js';
import { PaymentOutcomes } from '../lanes/payment-outcomes.js';
import { DecisionLog } from '../observability/decision-log.js';
import { registerNodeMetrics } from '../observability/node-metrics.js';
import { systemClock } from '../platform/clock.js';
import { preflightNode } from '../node/preflight.js';
import { takeEarlyThreads } from './early-threads.js';
import { nodeTree } from './tree.js';
import { startSupervision } from './tree-builders.js';

export interface NodeRuntimeOptions {
  readonly config: NodeConfig;
  readonly registry: Registry;
  readonly logger?: Logger;
}

/** Work in flight that stop() waits for; a hook lets parts of the node (lanes) cut short what can wait. */
export interface StopHooks {
  /** Called once when the node stops accepting work, before it waits for what is in flight. */
  onStopAccepting(): void;
}

/**
 * A running node: the supervision tree plus the doors work comes in by. Stopping closes the
 * doors first, waits for every payment already inside to get its answer, then stops the tree from
 * the leaves up (API, lanes, then payments), so the journal writer flushes and closes last.
 */
export class NodeRuntime {
  private accepting = true;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private stopping: Promise<ChildExit> | undefined;
  private root: SupervisorHandle | undefined;
  private readonly stopHooks: StopHooks[] = [];
  private apiAddressValue = '';
  private observabilityAddressValue = '';
  /** The lanes and their payments; the POS API's door into the node. */
  readonly lanes: LaneService;
  /** The last decisions, for the status page and the decision metrics. */
  readonly decisions = new DecisionLog();
  private readonly decisionPath: DecisionPathOptions;
  /** Lookups by idempotency key read committed rows here, on this thread: no actor hop before a payment starts. */
  private readonly journalReader: JournalReader;

  private constructor(
    readonly config: NodeConfig,
    private readonly actors: ActorRegistry,
    readonly logger: Logger,
  ) {
    this.decisionPath = decisionPathOptions(config);
    this.journalReader = new JournalReader(journalPathOf(config), config.nodeId);
    this.lanes = new LaneService(this, config, systemClock, logger, new PaymentOutcomes(paymentsPathOf(config)));
  }

  /** Where the POS API listens (an http:// URL or a socket path), once it does. */
  get apiAddress(): string {
    return this.apiAddressValue;
  }

  setApiAddress(address: string): void {
    this.apiAddressValue = address;
  }

  /** Where metrics, health and the status page listen, once they do. */
  get observabilityAddress(): string {
    return this.observabilityAddressValue;
  }

  setObservabilityAddress(address: string): void {
    this.observabilityAddressValue = address;
  }

  static async start(options: NodeRuntimeOptions): Promise<NodeRuntime> {
    // First, before anything can create a file in the data directory: the node's own journal is there (edgepay node init).
    preflightNode(options.config);
    const logger = options.logger ?? pino({ level: 'silent' });
    const actors = new ActorRegistry();
    const runtime = new NodeRuntime(options.config, actors, logger);
    const spares = takeEarlyThreads() ?? new SpareThreads();
    const context = { config: options.config, registry: actors, metrics: ActorMetrics.for(options.registry), promRegistry: options.registry, logger, spares, runtime };
    const releaseRefills = spares.holdRefills();
    try {
      runtime.root = await startSupervision(
        'node',
        'one_for_one',
        nodeTree(options.config).map((node) => node(context)),
        context,
      );
    } catch (error) {
      void spares.close();
      throw error;
    } finally {
      releaseRefills();
    }
    void runtime.root.exited.then(() => spares.close());
    registerNodeMetrics(options.registry, runtime);
    logger.info({ nodeId: options.config.nodeId, lanes: options.config.lanes.map((l) => l.id) }, 'node started');
    return runtime;
  }

  /** Settles when the tree has exited: after stop(), or when the root supervisor gave up. */
  get exited(): Promise<ChildExit> {
    return this.tree.exited;
  }

  get supervisor(): SupervisorHandle {
    return this.tree;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  addStopHooks(hooks: StopHooks): void {
    this.stopHooks.push(hooks);
  }

  /** Takes a payment whose card was read: resolves with the durable decision (or a 91 decline when nothing could be recorded). */
  pay(payment: PaymentRequest): Promise<Outcome> {
    const startedMs = performance.now();
    return this.track(() => this.ask('intake', { type: 'pay', payment })).then((outcome) => this.noted(outcome, startedMs, payment.idempotencyKey));
  }

  /**
   * The durable decision for a payment whose card a lane's reader actor has captured already: it
   * goes straight to the journal writer. Not counted in flight here: the lane tracks the whole payment.
   */
  async decideCaptured(request: AuthorizationRequest): Promise<Outcome> {
    const startedMs = performance.now();
    try {
      return this.noted(await decideDurably(this.call, { type: 'authorize', request }, this.decisionPath), startedMs, request.idempotencyKey);
    } catch (error) {
      throw unwrapRemote(error);
    }
  }

  followUp(request: FollowUpRequest): Promise<Outcome> {
    const startedMs = performance.now();
    return this.track(() => this.ask('intake', { type: 'follow-up', request })).then((outcome) => this.noted(outcome, startedMs, request.idempotencyKey));
  }

  /** `startedMs` is performance.now() when the request reached the node: the decision latency metric. */
  private noted(outcome: Outcome, startedMs: number, idempotencyKey: string): Outcome {
    const latencyMs = performance.now() - startedMs;
    this.decisions.record(outcome, systemClock.wallMs(), latencyMs);
    const { entry, decision } = outcome;
    // One line per decision, for whoever reads the journal of the box (journald); never card data:
    // no token, no last four digits (the journal holds them sealed, the status page the last four).
    this.logger.info(
      {
        idempotencyKey,
        seq: entry?.seq ?? null,
        lane: entry?.lane ?? null,
        kind: entry?.kind ?? null,
        amountMinor: entry?.amountMinor ?? null,
        currency: entry?.currency ?? null,
        approved: decision.approved,
        code: decision.code,
        mode: decision.mode,
        rule: decision.rule,
        replayed: outcome.replayed,
        latencyMs: Math.round(latencyMs * 10) / 10,
      },
      'decision',
    );
    return outcome;
  }

  /** The journal entry recorded under an idempotency key, if any (committed entries only). */
  findEntry(idempotencyKey: string): JournalEntry | null {
    return this.journalReader.findByIdempotencyKey(idempotencyKey) ?? null;
  }

  /**
   * Counts `work` as in flight for stop(), and refuses it once the node is stopping. Lanes use this
   * for a whole payment, card wait included.
   */
  async track<T>(work: () => Promise<T>): Promise<T> {
    if (!this.accepting) {
      throw new EdgepayError('EDGEPAY_NODE_STOPPING', 'the node is shutting down and takes no new payments; retry on another lane or after restart', {});
    }
    this.inFlight++;
    try {
      return await work();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  /**
   * A request to a named actor, asked again with the same content while the actor restarts, until
   * the request deadline. Only for idempotent requests: payments are keyed, lookups read.
   */
  async ask<A extends NodeActorId, R extends NodeActors[A]['request']>(actorId: A, request: R, deadlineMs = this.config.actors.requestTimeoutMs): Promise<ReplyOf<NodeActors[A], R>> {
    try {
      return await retryWhileRestarting((remainingMs) => this.call(actorId, request, remainingMs), { deadlineMs });
    } catch (error) {
      throw unwrapRemote(error);
    }
  }

  /** A request to a named actor, once, without retrying (for requests that are not idempotent). */
  async askOnce<A extends NodeActorId, R extends NodeActors[A]['request']>(actorId: A, request: R, timeoutMs: number): Promise<ReplyOf<NodeActors[A], R>> {
    try {
      return await this.call(actorId, request, timeoutMs);
    } catch (error) {
      throw unwrapRemote(error);
    }
  }

  /** Stops taking payments, answers every payment already accepted, then stops the tree. */
  stop(): Promise<ChildExit> {
    this.stopping ??= (async () => {
      this.accepting = false;
      this.logger.info({ inFlight: this.inFlight }, 'node stopping: no new payments; finishing those in flight');
      for (const hooks of this.stopHooks) hooks.onStopAccepting();
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      const exit = await this.tree.stop();
      this.journalReader.close();
      this.lanes.close();
      this.logger.info({ cause: exit.cause }, 'node stopped');
      return exit;
    })();
    return this.stopping;
  }

  /** One attempt at a request to a named actor, as it is registered right now. */
  private readonly call: NodeActorCall = nodeActorCall((actorId, request, timeoutMs) => {
    const actor = this.actors.lookup<unknown, unknown>(actorId);
    if (!actor) return Promise.reject(new ActorError('EDGEPAY_ACTOR_UNAVAILABLE', `${actorId} is not running`, { actor: actorId }));
    return actor.request(request, { timeoutMs });
  });

  private get tree(): SupervisorHandle {
    if (!this.root) throw new Error('node runtime used before its tree started');
    return this.root;
  }
}
