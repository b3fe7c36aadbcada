import { Counter, Gauge, type Registry } from 'prom-client';
import { METRICS } from '../metrics/metric-names.js';
import { type ExitCause, isCleanExit } from './child.js';

type DepthSource = () => number;

/**
 * The actor runtime's Prometheus series, registered on an injected registry (never the global
 * one, so tests and several nodes in one process do not collide). One instance per registry:
 * prom-client refuses a second registration of the same name, so share it with `for`.
 */
export class ActorMetrics {
  private static readonly byRegistry = new WeakMap<Registry, ActorMetrics>();

  private readonly restarts: Counter<'actor'>;
  private readonly overloads: Counter<'actor'>;
  private readonly crashes: Counter<'actor' | 'cause'>;
  private readonly depthSources = new Map<string, DepthSource>();

  static for(registry: Registry): ActorMetrics {
    let metrics = ActorMetrics.byRegistry.get(registry);
    if (metrics === undefined) {
      metrics = new ActorMetrics(registry);
      ActorMetrics.byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  constructor(registry: Registry) {
    const registers = [registry];
    this.restarts = new Counter({ name: METRICS.actorRestarts.name, help: 'Actor restarts by its supervisor.', labelNames: ['actor'], registers });
    this.overloads = new Counter({
      name: METRICS.actorOverloads.name,
      help: 'Requests rejected at once because the actor mailbox was full.',
      labelNames: ['actor'],
      registers,
    });
    this.crashes = new Counter({
      name: METRICS.actorCrashes.name,
      help: 'Abnormal actor exits, by cause (crash, exit, resource_limits, hung, killed).',
      labelNames: ['actor', 'cause'],
      registers,
    });
    const sources = this.depthSources;
    // Read at scrape time, so the request path pays nothing for the gauge.
    new Gauge({
      name: METRICS.actorMailboxDepth.name,
      help: 'Requests sent to the actor and not yet answered.',
      labelNames: ['actor'],
      registers,
      collect(this: Gauge<'actor'>) {
        for (const [actor, depth] of sources) this.set({ actor }, depth());
      },
    });
  }

  /** Called by the supervisor each time it starts a child again. */
  restarted(actor: string): void {
    this.restarts.inc({ actor });
  }

  overloaded(actor: string): void {
    this.overloads.inc({ actor });
  }

  /** Counts abnormal exits; clean ones ('normal', 'shutdown') are not crashes. */
  exited(actor: string, cause: ExitCause): void {
    if (!isCleanExit({ cause })) this.crashes.inc({ actor, cause });
  }

  /** Reports `depth` under the actor's name until the returned function is called; a restarted instance takes over the name. */
  trackMailbox(actor: string, depth: DepthSource): () => void {
    this.depthSources.set(actor, depth);
    return () => {
      if (this.depthSources.get(actor) === depth) this.depthSources.set(actor, () => 0);
    };
  }
}
