import type { Logger } from 'pino';
import { type RandomSource, systemRandom } from '../platform/random.js';
import type { ChildSpec } from './child.js';
import { type BackoffOptions, DEFAULT_BACKOFF } from './supervisor-backoff.js';
import { SupervisorError } from './supervisor-errors.js';
import type { SupervisorEvent } from './supervisor-events.js';
import type { SupervisorStrategy } from './supervisor-policy.js';
import { type SupervisorTimers, systemTimers } from './supervisor-timers.js';

export interface SupervisorOptions {
  readonly id: string;
  readonly strategy: SupervisorStrategy;
  /** Restarts allowed within periodMs before the supervisor gives up (OTP default 1). */
  readonly intensity?: number;
  /** OTP default 5000 ms. Also the uptime after which a child's backoff starts over. */
  readonly periodMs?: number;
  /** Fields left out take DEFAULT_BACKOFF's values. */
  readonly backoff?: Partial<BackoffOptions>;
  /** Started in this order, stopped in reverse. */
  readonly children: readonly ChildSpec[];
  readonly random?: RandomSource;
  readonly timers?: SupervisorTimers;
  readonly logger?: Logger;
  readonly onEvent?: (event: SupervisorEvent) => void;
  /** How long past a child's shutdownTimeoutMs to wait for its exit before writing it off (default 2000 ms). */
  readonly stopGraceMs?: number;
}

/** Options with every default applied and every bound checked. */
export interface SupervisorConfig {
  readonly id: string;
  readonly strategy: SupervisorStrategy;
  readonly intensity: number;
  readonly periodMs: number;
  readonly backoff: BackoffOptions;
  readonly children: readonly ChildSpec[];
  readonly random: RandomSource;
  readonly timers: SupervisorTimers;
  readonly logger: Logger | undefined;
  readonly onEvent: ((event: SupervisorEvent) => void) | undefined;
  readonly stopGraceMs: number;
}

export const SUPERVISOR_DEFAULTS = { intensity: 1, periodMs: 5_000, stopGraceMs: 2_000 } as const;

/** Explicit ceilings: a tree is sized by a person, so anything past these is a mistake, not a need. */
export const SUPERVISOR_LIMITS = {
  maxChildren: 1_024,
  /** Bounds the restart window's memory: it holds at most intensity + 1 timestamps. */
  maxIntensity: 10_000,
  /** setTimeout's own ceiling (2^31 - 1 ms); longer delays would fire at once in Node. */
  maxTimerMs: 2_147_483_647,
} as const;

const STRATEGIES: readonly string[] = ['one_for_one', 'one_for_all', 'rest_for_one'];
const RESTART_TYPES: readonly string[] = ['permanent', 'transient', 'temporary'];

const isMs = (value: number): boolean => Number.isFinite(value) && value >= 0 && value <= SUPERVISOR_LIMITS.maxTimerMs;

export function normalizeOptions(options: SupervisorOptions): SupervisorConfig {
  const problems: string[] = [];
  const need = (ok: boolean, problem: string): void => {
    if (!ok) problems.push(problem);
  };
  const intensity = options.intensity ?? SUPERVISOR_DEFAULTS.intensity;
  const periodMs = options.periodMs ?? SUPERVISOR_DEFAULTS.periodMs;
  const stopGraceMs = options.stopGraceMs ?? SUPERVISOR_DEFAULTS.stopGraceMs;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };

  need(typeof options.id === 'string' && options.id.length > 0, 'id must be a non-empty string');
  need(STRATEGIES.includes(options.strategy), `strategy must be one of ${STRATEGIES.join(', ')}`);
  need(Number.isSafeInteger(intensity) && intensity >= 0 && intensity <= SUPERVISOR_LIMITS.maxIntensity, `intensity must be an integer in 0..${SUPERVISOR_LIMITS.maxIntensity}`);
  need(isMs(periodMs) && periodMs > 0, 'periodMs must be a positive number of ms');
  need(isMs(stopGraceMs), 'stopGraceMs must be a number of ms >= 0');
  need(isMs(backoff.initialMs), 'backoff.initialMs must be a number of ms >= 0');
  need(isMs(backoff.maxMs) && backoff.maxMs >= backoff.initialMs, 'backoff.maxMs must be a number of ms >= initialMs');
  need(Number.isFinite(backoff.factor) && backoff.factor >= 1, 'backoff.factor must be >= 1');
  need(Number.isFinite(backoff.jitter) && backoff.jitter >= 0 && backoff.jitter <= 1, 'backoff.jitter must be within 0..1');

  const children = Array.isArray(options.children) ? options.children : [];
  need(Array.isArray(options.children), 'children must be an array');
  need(children.length <= SUPERVISOR_LIMITS.maxChildren, `at most ${SUPERVISOR_LIMITS.maxChildren} children`);
  const seen = new Set<string>();
  children.forEach((spec, index) => {
    const where = `children[${index}]`;
    need(typeof spec.id === 'string' && spec.id.length > 0, `${where}.id must be a non-empty string`);
    need(!seen.has(spec.id), `${where}.id ${JSON.stringify(spec.id)} is a duplicate`);
    seen.add(spec.id);
    need(typeof spec.start === 'function', `${where}.start must be a function`);
    need(RESTART_TYPES.includes(spec.restart), `${where}.restart must be one of ${RESTART_TYPES.join(', ')}`);
    need(isMs(spec.shutdownTimeoutMs) && spec.shutdownTimeoutMs + stopGraceMs <= SUPERVISOR_LIMITS.maxTimerMs, `${where}.shutdownTimeoutMs must be a number of ms >= 0 that, plus stopGraceMs, fits a timer`);
  });

  if (problems.length > 0) {
    throw new SupervisorError('EDGEPAY_SUPERVISOR_BAD_OPTIONS', `supervisor ${String(options.id)}: ${problems.join('; ')}`, {
      supervisorId: options.id,
      problems,
    });
  }
  return {
    id: options.id,
    strategy: options.strategy,
    intensity,
    periodMs,
    backoff,
    children,
    random: options.random ?? systemRandom,
    timers: options.timers ?? systemTimers,
    logger: options.logger,
    onEvent: options.onEvent,
    stopGraceMs,
  };
}
