import type { Registry } from 'prom-client';
import { type Logger, pino } from 'pino';
import { ActorError, ActorMetrics, type ChildExit, SpareThreads, type SupervisorHandle } from '../actors/index.js';
import { EdgepayError } from '../errors.js';
import type { FollowUpRequest, Outcome } from '../standin/index.js';
import type { AuthorizerReply, AuthorizerRequest, PaymentRequest } from './actors/authorizer-protocol.js';
import type { NodeConfig } from './config.js';
import { ActorRegistry } from './registry.js';
import { unwrapRemote } from './remote-errors.js';
import { retryWhileRestarting } from './retry.js';
import { NODE_TREE } from './tree.js';
import { startSupervision } from './tree-builders.js';

export interface NodeRuntimeOptions {
  readonly config: NodeConfig;
  readonly registry: Registry;
  readonly logger?: Logger;
}

/**
 * A running node: the supervision tree plus the door payments come in by. Stopping closes the
 * door first, waits for every payment already inside to get its answer, then stops the tree from
 * the leaves up, so the journal writer flushes and closes last.
 */
export class NodeRuntime {
  private accepting = true;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private stopping: Promise<ChildExit> | undefined;

  private constructor(
    private readonly config: NodeConfig,
    private readonly root: SupervisorHandle,
    private readonly actors: ActorRegistry,
    private readonly logger: Logger,
  ) {}

  static async start(options: NodeRuntimeOptions): Promise<NodeRuntime> {
    const logger = options.logger ?? pino({ level: 'silent' });
    const actors = new ActorRegistry();
    const spares = new SpareThreads();
    const context = { config: options.config, registry: actors, metrics: ActorMetrics.for(options.registry), logger, spares };
    let root: SupervisorHandle;
    try {
      root = await startSupervision('node', 'one_for_one', NODE_TREE.map((node) => node(context)), context);
    } catch (error) {
      void spares.close();
      throw error;
    }
    void root.exited.then(() => spares.close());
    logger.info({ nodeId: options.config.nodeId }, 'node started');
    return new NodeRuntime(options.config, root, actors, logger);
  }

  /** Settles when the tree has exited: after stop(), or when the root supervisor gave up. */
  get exited(): Promise<ChildExit> {
    return this.root.exited;
  }

  get supervisor(): SupervisorHandle {
    return this.root;
  }

  /** Takes a payment: resolves with the durable decision (or a 91 decline when nothing could be recorded). */
  pay(payment: PaymentRequest): Promise<Outcome> {
    return this.toAuthorizer({ type: 'pay', payment });
  }

  followUp(request: FollowUpRequest): Promise<Outcome> {
    return this.toAuthorizer({ type: 'follow-up', request });
  }

  /** Stops taking payments, answers every payment already accepted, then stops the tree. */
  stop(): Promise<ChildExit> {
    this.stopping ??= (async () => {
      this.accepting = false;
      this.logger.info({ inFlight: this.inFlight }, 'node stopping: no new payments; finishing those in flight');
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      const exit = await this.root.stop();
      this.logger.info({ cause: exit.cause }, 'node stopped');
      return exit;
    })();
    return this.stopping;
  }

  private async toAuthorizer(request: AuthorizerRequest): Promise<AuthorizerReply> {
    if (!this.accepting) {
      throw new EdgepayError('EDGEPAY_NODE_STOPPING', 'the node is shutting down and takes no new payments; retry on another lane or after restart', {});
    }
    this.inFlight++;
    try {
      return await retryWhileRestarting(
        (remainingMs) => {
          const authorizer = this.actors.lookup<AuthorizerRequest, AuthorizerReply>('authorizer');
          if (!authorizer) return Promise.reject(new ActorError('EDGEPAY_ACTOR_UNAVAILABLE', 'the authorizer is restarting', { actor: 'authorizer' }));
          return authorizer.request(request, { timeoutMs: remainingMs });
        },
        { deadlineMs: this.config.actors.requestTimeoutMs },
      );
    } catch (error) {
      throw unwrapRemote(error);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    }
  }
}
