import { describe, expect, it } from 'vitest';
import { type RestartType, isCleanExit } from '../src/actors/child.js';
import { startSupervisor } from '../src/actors/supervisor.js';
import type { SupervisorStrategy } from '../src/actors/supervisor-policy.js';
import { EXIT_CAUSES, EventLog, FakeWorld } from './support/fake-child.js';

const STRATEGIES: readonly SupervisorStrategy[] = ['one_for_one', 'one_for_all', 'rest_for_one'];
const RESTART_TYPES: readonly RestartType[] = ['permanent', 'transient', 'temporary'];

/** What the log shows after b fails and is restarted, per strategy (siblings a and c are permanent). */
const RESTART_LOG: Record<SupervisorStrategy, readonly string[]> = {
  one_for_one: ['start:b'],
  one_for_all: ['stop:c', 'exit:c:shutdown', 'stop:a', 'exit:a:shutdown', 'start:a', 'start:b', 'start:c'],
  rest_for_one: ['stop:c', 'exit:c:shutdown', 'start:b', 'start:c'],
};

async function threeChildren(strategy: SupervisorStrategy, restartOfB: RestartType) {
  const world = new FakeWorld();
  const log = new EventLog();
  const sup = await startSupervisor({
    id: 'sup',
    strategy,
    intensity: 10,
    backoff: { initialMs: 10, jitter: 0 },
    children: [world.spec('a'), world.spec('b', { restart: restartOfB }), world.spec('c')],
    timers: world.timers,
    onEvent: log.listener,
  });
  return { world, log, sup, timers: world.timers };
}

describe.each(STRATEGIES)('%s', (strategy) => {
  describe.each(RESTART_TYPES)('a %s child', (restart) => {
    it.each(EXIT_CAUSES)('exiting with %s', async (cause) => {
      const { world, log, sup, timers } = await threeChildren(strategy, restart);
      const before = world.log.length;
      world.crash('b', cause);
      await timers.advance(50);
      const restarted = restart === 'permanent' || (restart === 'transient' && !isCleanExit({ cause }));
      const after = world.log.slice(before);
      expect(after[0]).toBe(`exit:b:${cause}`);
      expect(log.of('child_exited')[0]).toMatchObject({ childId: 'b', cause, requested: false });
      if (restarted) {
        expect(after.slice(1)).toEqual(RESTART_LOG[strategy]);
        expect(sup.children().map((child) => child.state)).toEqual(['running', 'running', 'running']);
        expect(log.of('child_restarting').find((event) => event.childId === 'b')).toMatchObject({ triggeredBy: 'b', delayMs: 10 });
      } else {
        expect(after).toHaveLength(1);
        expect(sup.children().map((child) => child.state)).toEqual(['running', 'stopped', 'running']);
        expect(sup.whereis('b')).toBeUndefined();
        expect(log.of('child_restarting')).toEqual([]);
      }
      expect(world.violations).toEqual([]);
      await timers.until(sup.stop());
      expect(world.totalLive()).toBe(0);
    });
  });
});

describe('strategy details', () => {
  it('one_for_all stops a temporary sibling without restarting it, and restarts a transient one it stopped', async () => {
    const world = new FakeWorld();
    const sup = await startSupervisor({
      id: 'sup',
      strategy: 'one_for_all',
      intensity: 5,
      children: [world.spec('tmp', { restart: 'temporary' }), world.spec('tr', { restart: 'transient' }), world.spec('p')],
      timers: world.timers,
    });
    world.crash('p');
    await world.timers.advance(50);
    expect(world.entries('stop')).toEqual(['tr', 'tmp']);
    expect(world.starts('tmp')).toBe(1);
    expect(world.starts('tr')).toBe(2);
    expect(world.starts('p')).toBe(2);
    expect(sup.children().map((child) => child.state)).toEqual(['stopped', 'running', 'running']);
    await world.timers.until(sup.stop());
  });

  it('does not resurrect a transient child that already finished when a sibling restarts them all', async () => {
    const world = new FakeWorld();
    const sup = await startSupervisor({
      id: 'sup',
      strategy: 'one_for_all',
      intensity: 5,
      children: [world.spec('done', { restart: 'transient' }), world.spec('p')],
      timers: world.timers,
    });
    world.crash('done', 'normal');
    await world.timers.advance(5);
    world.crash('p');
    await world.timers.advance(50);
    expect(world.starts('done')).toBe(1);
    expect(world.starts('p')).toBe(2);
    await world.timers.until(sup.stop());
  });

  it('rest_for_one restarts everything after the first child, and only the last child for the last', async () => {
    const world = new FakeWorld();
    const sup = await startSupervisor({
      id: 'sup',
      strategy: 'rest_for_one',
      intensity: 5,
      children: ['a', 'b', 'c', 'd'].map((id) => world.spec(id)),
      timers: world.timers,
    });
    world.crash('d');
    await world.timers.advance(50);
    expect(['a', 'b', 'c', 'd'].map((id) => world.starts(id))).toEqual([1, 1, 1, 2]);
    world.crash('a');
    await world.timers.advance(50);
    expect(world.entries('stop')).toEqual(['d', 'c', 'b']);
    expect(['a', 'b', 'c', 'd'].map((id) => world.starts(id))).toEqual([2, 2, 2, 3]);
    expect(world.entries('start').slice(-4)).toEqual(['a', 'b', 'c', 'd']);
    await world.timers.until(sup.stop());
  });

  it('a failed restart in a rest_for_one round retries that child and the ones after it', async () => {
    const world = new FakeWorld();
    const log = new EventLog();
    const sup = await startSupervisor({
      id: 'sup',
      strategy: 'rest_for_one',
      intensity: 5,
      backoff: { jitter: 0 },
      children: ['a', 'b', 'c'].map((id) => world.spec(id)),
      timers: world.timers,
      onEvent: log.listener,
    });
    world.failStarts('b', 1);
    world.crash('a');
    await world.timers.advance(100);
    expect(world.log.filter((line) => !line.startsWith('exit')).slice(3)).toEqual(['stop:c', 'stop:b', 'start:a', 'start_failed:b', 'start:b', 'start:c']);
    // Each failure is b's or a's first, so both rounds wait initialMs; c was never attempted in the first.
    expect(
      log
        .of('child_restarting')
        .filter((event) => event.childId === event.triggeredBy)
        .map((event) => event.delayMs),
    ).toEqual([10, 10]);
    expect(sup.children().map((child) => child.restarts)).toEqual([1, 2, 1]);
    await world.timers.until(sup.stop());
  });

  it('one_for_one keeps independent backoffs for two failing children', async () => {
    const world = new FakeWorld();
    const sup = await startSupervisor({
      id: 'sup',
      strategy: 'one_for_one',
      intensity: 5,
      backoff: { initialMs: 100, jitter: 0 },
      children: ['a', 'b'].map((id) => world.spec(id)),
      timers: world.timers,
    });
    world.crash('a');
    await world.timers.advance(60);
    world.crash('b');
    await world.timers.advance(40);
    expect([world.starts('a'), world.starts('b')]).toEqual([2, 1]);
    await world.timers.advance(60);
    expect([world.starts('a'), world.starts('b')]).toEqual([2, 2]);
    await world.timers.until(sup.stop());
  });
});
