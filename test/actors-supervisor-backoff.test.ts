import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../src/platform/random.js';
import type { RandomSource } from '../src/platform/random.js';
import { startSupervisor } from '../src/actors/supervisor.js';
import { type BackoffOptions, backoffDelayMs, baseDelayMs } from '../src/actors/supervisor-backoff.js';
import { RestartBudget } from '../src/actors/supervisor-budget.js';
import { EventLog, FakeWorld } from './support/fake-child.js';

/** A random source stuck at one end of its range, to pin jitter to its bounds. */
const fixedRandom = (pick: 'lowest' | 'highest'): RandomSource => ({
  bytes: (length) => new Uint8Array(length),
  int: (maxExclusive) => (pick === 'lowest' ? 0 : maxExclusive - 1),
});

const policy: BackoffOptions = { initialMs: 10, maxMs: 200, factor: 2, jitter: 0.5 };

describe('backoff delays', () => {
  it('grows geometrically from initialMs and stops at maxMs', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => baseDelayMs(policy, attempt))).toEqual([10, 20, 40, 80, 160, 200, 200]);
    expect(baseDelayMs(policy, 5_000)).toBe(200);
    expect(baseDelayMs({ ...policy, initialMs: 0 }, 9)).toBe(0);
    expect(() => baseDelayMs(policy, 0)).toThrow(RangeError);
  });

  it('jitter only shortens, by at most the jitter fraction', () => {
    expect(backoffDelayMs(policy, 3, fixedRandom('lowest'))).toBe(40);
    const shortest = backoffDelayMs(policy, 3, fixedRandom('highest'));
    expect(shortest).toBeGreaterThanOrEqual(20);
    expect(shortest).toBeLessThan(20.001);
  });

  it('stays within [base * (1 - jitter), base] for any policy, attempt and seed', () => {
    fc.assert(
      fc.property(
        fc.record({
          initialMs: fc.integer({ min: 0, max: 1_000 }),
          extraMs: fc.integer({ min: 0, max: 100_000 }),
          factor: fc.double({ min: 1, max: 10, noNaN: true }),
          jitter: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        ({ initialMs, extraMs, factor, jitter }, attempt, seed) => {
          const p = { initialMs, maxMs: initialMs + extraMs, factor, jitter };
          const base = baseDelayMs(p, attempt);
          const delay = backoffDelayMs(p, attempt, new SeededRandom(seed));
          expect(base).toBeLessThanOrEqual(p.maxMs);
          expect(delay).toBeLessThanOrEqual(base);
          expect(delay).toBeGreaterThanOrEqual(base * (1 - jitter) - 1e-9);
        },
      ),
    );
  });
});

describe('restart budget', () => {
  it('admits intensity restarts per period and refuses the next', () => {
    const budget = new RestartBudget(2, 1_000);
    expect([budget.admit(0), budget.admit(500), budget.admit(999)]).toEqual([true, true, false]);
    const fresh = new RestartBudget(2, 1_000);
    expect([fresh.admit(0), fresh.admit(500), fresh.admit(1_000), fresh.admit(1_500)]).toEqual([true, true, true, true]);
  });
});

describe('backoff between restarts of one child', () => {
  async function crashLoop(random: RandomSource, jitter: number, crashes: number) {
    const world = new FakeWorld();
    const log = new EventLog();
    const sup = await startSupervisor({
      id: 'sup',
      strategy: 'one_for_one',
      intensity: 100,
      periodMs: 10_000,
      backoff: { initialMs: 10, maxMs: 80, factor: 2, jitter },
      random,
      children: [world.spec('a'), world.spec('b')],
      timers: world.timers,
      onEvent: log.listener,
    });
    const delays: number[] = [];
    for (let i = 0; i < crashes; i++) {
      world.crash('a');
      await world.timers.advance(0);
      const delayMs = log.of('child_restarting').at(-1)?.delayMs ?? Number.NaN;
      delays.push(delayMs);
      // Not a millisecond early, and on time.
      await world.timers.advance(Math.max(0, delayMs - 0.5));
      expect(sup.whereis('a')).toBeUndefined();
      await world.timers.advance(0.5);
      expect(sup.whereis('a')).toBeDefined();
    }
    return { world, sup, log, delays };
  }

  it('doubles up to maxMs without jitter; the first restart waits initialMs', async () => {
    const { delays, world, sup } = await crashLoop(fixedRandom('lowest'), 0, 6);
    expect(delays).toEqual([10, 20, 40, 80, 80, 80]);
    expect(world.starts('b')).toBe(1);
    await world.timers.until(sup.stop());
  });

  it('jitters each delay within its bounds with an injected random source', async () => {
    const { delays, world, sup } = await crashLoop(new SeededRandom(42), 0.5, 6);
    const bases = [10, 20, 40, 80, 80, 80];
    delays.forEach((delay, i) => {
      const base = bases[i] ?? 0;
      expect(delay).toBeLessThanOrEqual(base);
      expect(delay).toBeGreaterThanOrEqual(base / 2);
    });
    expect(delays.some((delay, i) => delay !== bases[i])).toBe(true);
    await world.timers.until(sup.stop());
  });

  it('starts over after the child stayed up longer than the period', async () => {
    const world = new FakeWorld();
    const log = new EventLog();
    const sup = await startSupervisor({
      id: 'sup',
      strategy: 'one_for_one',
      intensity: 100,
      periodMs: 1_000,
      backoff: { initialMs: 10, maxMs: 1_000, factor: 3, jitter: 0 },
      children: [world.spec('a')],
      timers: world.timers,
      onEvent: log.listener,
    });
    for (let i = 0; i < 3; i++) {
      world.crash('a');
      await world.timers.advance(200);
    }
    await world.timers.advance(1_001);
    world.crash('a');
    await world.timers.advance(200);
    expect(log.of('child_restarting').map((event) => event.delayMs)).toEqual([10, 30, 90, 10]);
    await world.timers.until(sup.stop());
  });

  it('restarts at once with initialMs 0', async () => {
    const world = new FakeWorld();
    const sup = await startSupervisor({
      id: 'sup',
      strategy: 'one_for_one',
      backoff: { initialMs: 0 },
      children: [world.spec('a')],
      timers: world.timers,
    });
    world.crash('a');
    await world.timers.advance(0);
    expect(world.starts('a')).toBe(2);
    await world.timers.until(sup.stop());
  });
});
