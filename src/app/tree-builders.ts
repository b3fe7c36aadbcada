import type { Logger } from 'pino';
import {
  ActorError,
  type ActorHandle,
  type ActorMetrics,
  type ChildHandle,
  type ChildSpec,
  type RestartType,
  type SpareThreads,
  type SupervisorHandle,
  type SupervisorStrategy,
  moduleUrl,
  startActor,
  startSupervisor,
} from '../actors/index.js';
import type { Registry } from 'prom-client';
import type { NodeConfig } from '../config/node-config.js';
import type { ApiServiceContext } from '../api/service.js';
import type { ObservabilityServiceContext } from '../observability/service.js';
import type { ActorRegistry } from './registry.js';

/** What every child of the node tree is built with. */
export interface TreeContext {
  readonly config: NodeConfig;
  readonly registry: ActorRegistry;
  readonly metrics: ActorMetrics;
  readonly logger: Logger;
  /** Threads booted ahead of need, so a restart does not wait for a thread to boot. */
  readonly spares: SpareThreads;
  /** The node as its services see it: the lanes for the POS API, what observability reads. */
  readonly runtime: NodeDoors;
  readonly promRegistry: Registry;
}

/**
 * What the node's services get of the running node: the union of the ports each one declares
 * (ApiServiceContext, ObservabilityServiceContext), and no more.
 */
export type NodeDoors = ApiServiceContext['runtime'] & ObservabilityServiceContext['runtime'];

export type TreeNode = (context: TreeContext) => ChildSpec;

export interface ActorNodeOptions {
  readonly restart?: RestartType;
  readonly shutdownTimeoutMs: number;
  /** What the actor's init() receives; the node configuration by default. */
  readonly init?: (config: NodeConfig) => unknown;
}

export function actor(id: string, module: string, options: ActorNodeOptions): TreeNode {
  return (context) => {
    // The tree is built once, before its first child starts: every actor's thread boots and loads
    // its module ahead of its start (while the actors before it open the journal, handshake...),
    // though the actors still start one after another.
    context.spares.prewarm(moduleUrl(module), undefined);
    return actorSpec(id, module, options, context);
  };
}

function actorSpec(id: string, module: string, options: ActorNodeOptions, context: TreeContext): ChildSpec {
  return {
    id,
    restart: options.restart ?? 'permanent',
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    start: async (): Promise<ChildHandle> => {
      const { config, registry, metrics, logger, spares } = context;
      const handle: ActorHandle<unknown, unknown> = await startActor({
        id,
        module: moduleUrl(module),
        init: options.init ? options.init(config) : { config },
        mailboxCapacity: config.actors.mailboxCapacity,
        heartbeatMs: config.actors.heartbeatMs,
        hungAfterMs: config.actors.hungAfterMs,
        requestTimeoutMs: config.actors.requestTimeoutMs,
        router: (to, request, timeoutMs) => {
          const target = registry.lookup(to);
          if (!target) return Promise.reject(new ActorError('EDGEPAY_ACTOR_UNAVAILABLE', `actor ${to} is not running`, { actor: to }));
          return target.request(request, { timeoutMs });
        },
        metrics,
        logger,
        spares,
      });
      registry.register(id, handle);
      return handle;
    },
  };
}

/** Margin on top of the children's own shutdown timeouts for the supervisor's bookkeeping. */
const SUPERVISOR_STOP_MARGIN_MS = 1_000;

/** A child that lives in the main thread (the POS API): started and stopped like any other. */
export function service(id: string, options: { shutdownTimeoutMs: number; start: (context: TreeContext) => Promise<ChildHandle> }): TreeNode {
  return (context) => ({ id, restart: 'permanent', shutdownTimeoutMs: options.shutdownTimeoutMs, start: () => options.start(context) });
}

export function supervisor(id: string, strategy: SupervisorStrategy, children: readonly TreeNode[]): TreeNode {
  return (context) => {
    const specs = children.map((child) => child(context));
    return {
      id,
      restart: 'permanent',
      // It stops its children one after another, each within its own timeout.
      shutdownTimeoutMs: specs.reduce((sum, spec) => sum + spec.shutdownTimeoutMs, SUPERVISOR_STOP_MARGIN_MS),
      start: (): Promise<SupervisorHandle> => startSupervision(id, strategy, specs, context),
    };
  };
}

export function startSupervision(id: string, strategy: SupervisorStrategy, children: readonly ChildSpec[], context: TreeContext): Promise<SupervisorHandle> {
  const { metrics, logger, config } = context;
  return startSupervisor({
    id,
    strategy,
    intensity: config.actors.intensity,
    periodMs: config.actors.periodMs,
    children,
    logger: logger.child({ supervisor: id }),
    onEvent: (event) => {
      if (event.type === 'child_restarting' && event.childId === event.triggeredBy) metrics.restarted(event.childId);
    },
  });
}
