import type { RandomSource } from '../platform/random.js';

/**
 * Delay between consecutive restarts of one child. The n-th consecutive restart (n >= 1) waits
 * `min(maxMs, initialMs * factor^(n-1))`, shortened by a random fraction of up to `jitter` so that
 * children crashing together do not restart in lock-step. The first restart therefore waits about
 * initialMs (default 10 ms): fast enough to be invisible, slow enough that a crash loop cannot spin
 * the CPU. initialMs 0 turns backoff off.
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  /** 0..1: the largest fraction of the delay that jitter may remove. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 10, maxMs: 1_000, factor: 2, jitter: 0.2 };

/** Jitter is drawn as an integer out of this many steps: fine enough, and well inside a safe integer. */
const JITTER_STEPS = 2 ** 30;

/** The un-jittered delay before the attempt-th consecutive restart (attempt counts from 1). */
export function baseDelayMs(policy: BackoffOptions, attempt: number): number {
  if (!Number.isSafeInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  if (policy.initialMs === 0) return 0;
  const grownMs = policy.initialMs * policy.factor ** (attempt - 1);
  // A long crash history overflows to Infinity; the cap still applies.
  return Number.isFinite(grownMs) ? Math.min(policy.maxMs, grownMs) : policy.maxMs;
}

/** Always within [base * (1 - jitter), base]: jitter only shortens, so maxMs stays a true ceiling. */
export function backoffDelayMs(policy: BackoffOptions, attempt: number, random: RandomSource): number {
  const baseMs = baseDelayMs(policy, attempt);
  if (baseMs === 0 || policy.jitter === 0) return baseMs;
  const fraction = random.int(JITTER_STEPS) / JITTER_STEPS;
  return baseMs * (1 - policy.jitter * fraction);
}
