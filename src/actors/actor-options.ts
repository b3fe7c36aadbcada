import { resolve } from 'node:path';
import type { ResourceLimits } from 'node:worker_threads';
import { BadInputError, type FieldProblem } from '../errors.js';
import type { Logger } from './log.js';
import type { ActorMetrics } from './metrics.js';
import type { SpareThreads } from './spare-threads.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './protocol.js';

/** Reaches another actor on behalf of a worker's ctx.call; throw ActorError 'EDGEPAY_ACTOR_UNAVAILABLE' for an unknown name. */
export type ActorRouter = (to: string, request: unknown, timeoutMs: number) => Promise<unknown>;

export interface StartActorOptions {
  readonly id: string;
  /** The compiled worker module (a .js file under dist/, see moduleUrl in modules.ts). */
  readonly module: URL | string;
  /** Handed to the behaviour's init(); must survive structured clone. */
  readonly init?: unknown;
  /** Most requests sent and not yet answered; one more is rejected with EDGEPAY_ACTOR_OVERLOADED. */
  readonly mailboxCapacity: number;
  readonly heartbeatMs?: number;
  /** No heartbeat for this long and the worker is terminated as 'hung'; must exceed its longest synchronous stretch. */
  readonly hungAfterMs?: number;
  readonly startTimeoutMs?: number;
  /** Default per-request timeout when request() is not given one. */
  readonly requestTimeoutMs?: number;
  readonly resourceLimits?: ResourceLimits;
  readonly router?: ActorRouter;
  /** Start on a thread booted ahead of need: a restart then costs the module import and init, not a thread boot. */
  readonly spares?: SpareThreads;
  readonly metrics?: ActorMetrics;
  /** Receives the runtime's records and the worker's forwarded ones; silent when omitted. */
  readonly logger?: Logger;
}

export interface ActorSettings {
  readonly id: string;
  readonly module: URL | string;
  readonly init: unknown;
  readonly mailboxCapacity: number;
  readonly heartbeatMs: number;
  readonly hungAfterMs: number;
  readonly startTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly router: ActorRouter | undefined;
  readonly spares: SpareThreads | undefined;
  readonly metrics: ActorMetrics | undefined;
  readonly logger: Logger | undefined;
}

export const ACTOR_DEFAULTS = {
  heartbeatMs: 250,
  hungAfterMs: 2000,
  startTimeoutMs: 10_000,
  requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
} as const;

export const MAILBOX_CAPACITY_RANGE = { min: 1, max: 100_000 } as const;
/** Shortest heartbeat accepted: below this the ticks cost more than the detection is worth. */
const HEARTBEAT_MS_RANGE = { min: 5, max: 60_000 } as const;
const TIMEOUT_MS_MAX = 600_000;

export function actorSettings(options: StartActorOptions): ActorSettings {
  const heartbeatMs = options.heartbeatMs ?? ACTOR_DEFAULTS.heartbeatMs;
  const hungAfterMs = options.hungAfterMs ?? Math.max(ACTOR_DEFAULTS.hungAfterMs, heartbeatMs * 4);
  const startTimeoutMs = options.startTimeoutMs ?? ACTOR_DEFAULTS.startTimeoutMs;
  const requestTimeoutMs = options.requestTimeoutMs ?? ACTOR_DEFAULTS.requestTimeoutMs;
  const problems: FieldProblem[] = [];
  const check = (path: string, ok: boolean, message: string, value: unknown): void => {
    if (!ok) problems.push({ path, message, value });
  };
  check('id', typeof options.id === 'string' && options.id.length > 0, 'must be a non-empty string', options.id);
  const { min, max } = MAILBOX_CAPACITY_RANGE;
  check('mailboxCapacity', isWhole(options.mailboxCapacity, min, max), `must be a whole number from ${min} to ${max}`, options.mailboxCapacity);
  check('heartbeatMs', isWhole(heartbeatMs, HEARTBEAT_MS_RANGE.min, HEARTBEAT_MS_RANGE.max), `must be whole milliseconds from ${HEARTBEAT_MS_RANGE.min} to ${HEARTBEAT_MS_RANGE.max}`, heartbeatMs);
  check('hungAfterMs', isWhole(hungAfterMs, 2 * heartbeatMs, TIMEOUT_MS_MAX), `must be whole milliseconds from 2 × heartbeatMs (${2 * heartbeatMs}) to ${TIMEOUT_MS_MAX}`, hungAfterMs);
  check('startTimeoutMs', isWhole(startTimeoutMs, 1, TIMEOUT_MS_MAX), `must be whole milliseconds from 1 to ${TIMEOUT_MS_MAX}`, startTimeoutMs);
  check('requestTimeoutMs', isPositive(requestTimeoutMs), `must be a positive number of milliseconds up to ${TIMEOUT_MS_MAX}`, requestTimeoutMs);
  if (problems.length > 0) throw new BadInputError('actor options', problems);
  return {
    id: options.id,
    module: typeof options.module === 'string' && !options.module.startsWith('file:') ? resolve(options.module) : options.module,
    init: options.init,
    mailboxCapacity: options.mailboxCapacity,
    heartbeatMs,
    hungAfterMs,
    startTimeoutMs,
    requestTimeoutMs,
    resourceLimits: options.resourceLimits,
    router: options.router,
    spares: options.spares,
    metrics: options.metrics,
    logger: options.logger,
  };
}

export function isPositive(ms: number): boolean {
  return Number.isFinite(ms) && ms > 0 && ms <= TIMEOUT_MS_MAX;
}

function isWhole(value: number, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && value >= min && value <= max;
}
