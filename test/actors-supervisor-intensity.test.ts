import { describe, expect, it } from 'vitest';
import type { ChildSpec } from '../src/actors/child.js';
import { type SupervisorHandle, startSupervisor } from '../src/actors/supervisor.js';
import { isSupervisorError } from '../src/actors/supervisor-errors.js';
import type { SupervisorStrategy } from '../src/actors/supervisor-policy.js';
import { EventLog, type FakeChild, FakeWorld } from './support/fake-child.js';

describe('restart intensity', () => {
  it('gives up on the restart past the intensity: stops the rest in reverse and exits escalated', async () => {
    const world = new FakeWorld();
    const log = new EventLog();
    const sup = await startSupervisor({
      id: 'sup',
      strategy: 'one_for_one',
      intensity: 2,
      periodMs: 1_000,
      children: ['a', 'b', 'c', 'd'].map((id) => world.spec(id)),
      timers: world.timers,
      onEvent: log.listener,
    });
    for (let i = 0; i < 2; i++) {
      world.crash('b');
      await world.timers.advance(100);
    }
    expect(world.starts('b')).toBe(3);
    world.crash('b', 'hung');
    const exit = await world.timers.until(sup.exited);
    expect(exit.cause).toBe('escalated');
    expect(isSupervisorError(exit.error, 'EDGEPAY_SUPERVISOR_INTENSITY_EXCEEDED')).toBe(true);
    expect(isSupervisorError(exit.error) && exit.error.details.childId).toBe('b');
    expect(world.entries('stop')).toEqual(['d', 'c', 'a']);
    expect(world.totalLive()).toBe(0);
    expect(log.of('intensity_exceeded')).toMatchObject([{ childId: 'b', intensity: 2, periodMs: 1_000 }]);
    expect(log.of('supervisor_stopped')).toMatchObject([{ cause: 'escalated' }]);
    await world.timers.advance(10_000);
    expect(world.starts('b')).toBe(3);
    expect(await sup.stop()).toBe(exit);
  });

  it('forgives restarts older than the period', async () => {
    const world = new FakeWorld();
    const sup = await startSupervisor({ id: 'sup', strategy: 'one_for_one', periodMs: 1_000, children: [world.spec('a')], timers: world.timers });
    for (let i = 0; i < 5; i++) {
      world.crash('a');
      await world.timers.advance(1_001);
    }
    expect(world.starts('a')).toBe(6);
    expect(sup.children()[0]?.state).toBe('running');
    await world.timers.until(sup.stop());
  });

  it('defaults to OTP: one restart per 5000 ms', async () => {
    const world = new FakeWorld();
    const sup = await startSupervisor({ id: 'sup', strategy: 'one_for_one', children: [world.spec('a')], timers: world.timers });
    world.crash('a');
    await world.timers.advance(4_000);
    expect(world.starts('a')).toBe(2);
    world.crash('a');
    expect((await world.timers.until(sup.exited)).cause).toBe('escalated');
  });

  it('with intensity 0 the first failure escalates', async () => {
    const world = new FakeWorld();
    const children = [world.spec('a'), world.spec('b')];
    const sup = await startSupervisor({ id: 'sup', strategy: 'one_for_all', intensity: 0, children, timers: world.timers });
    world.crash('b', 'exit');
    expect((await world.timers.until(sup.exited)).cause).toBe('escalated');
    expect(world.entries('stop')).toEqual(['a']);
  });

  it('counts failed restarts, so a child that can no longer start ends in escalation', async () => {
    const world = new FakeWorld();
    const children = [world.spec('a'), world.spec('b')];
    const sup = await startSupervisor({ id: 'sup', strategy: 'one_for_one', intensity: 3, children, timers: world.timers });
    world.failStarts('b', Number.MAX_SAFE_INTEGER);
    world.crash('b');
    const exit = await world.timers.until(sup.exited);
    expect(exit.cause).toBe('escalated');
    expect(world.entries('start_failed')).toEqual(['b', 'b', 'b']);
    expect(world.totalLive()).toBe(0);
  });
});

/** A parent with a plain child x and a child supervisor "sub" over p and q. */
async function tree(parentStrategy: SupervisorStrategy, parentIntensity: number) {
  const world = new FakeWorld();
  const parentLog = new EventLog();
  const subSpec: ChildSpec<SupervisorHandle> = {
    id: 'sub',
    restart: 'permanent',
    shutdownTimeoutMs: 5_000,
    start: () =>
      startSupervisor({
        id: 'sub',
        strategy: 'one_for_one',
        intensity: 1,
        periodMs: 1_000,
        children: [world.spec('p'), world.spec('q')],
        timers: world.timers,
      }),
  };
  const parent = await startSupervisor({
    id: 'root',
    strategy: parentStrategy,
    intensity: parentIntensity,
    periodMs: 60_000,
    children: [world.spec('x'), subSpec],
    timers: world.timers,
    onEvent: parentLog.listener,
  });
  /** Crashes p twice within sub's period: sub gives up and escalates to the parent. */
  const escalateSub = async (): Promise<void> => {
    world.crash('p');
    await world.timers.advance(100);
    world.crash('p');
    await world.timers.advance(100);
  };
  return { world, parent, parentLog, subSpec, escalateSub };
}

describe('nested supervisors', () => {
  it('a child supervisor that escalates is restarted by its parent (one_for_one)', async () => {
    const { world, parent, parentLog, subSpec, escalateSub } = await tree('one_for_one', 3);
    const firstSub = parent.whereis(subSpec);
    await escalateSub();
    expect(parentLog.of('child_exited')).toMatchObject([{ childId: 'sub', cause: 'escalated', requested: false }]);
    const secondSub = parent.whereis(subSpec);
    expect(secondSub).toBeDefined();
    expect(secondSub).not.toBe(firstSub);
    expect(secondSub?.whereis<FakeChild>('p')?.instance).toBe(3);
    expect(world.starts('q')).toBe(2);
    expect(world.starts('x')).toBe(1);
    expect(world.violations).toEqual([]);
    await world.timers.until(parent.stop());
    // Reverse order through the tree: sub first (its q, then p), then x.
    expect(world.entries('stop').slice(-3)).toEqual(['q', 'p', 'x']);
    expect(world.totalLive()).toBe(0);
  });

  it('a parent with one_for_all restarts its other children when a child supervisor escalates', async () => {
    const { world, parent, escalateSub } = await tree('one_for_all', 3);
    await escalateSub();
    expect(world.starts('x')).toBe(2);
    expect(world.starts('p')).toBe(3);
    expect(parent.children().map((child) => child.state)).toEqual(['running', 'running']);
    await world.timers.until(parent.stop());
  });

  it('repeated escalation makes the parent escalate too, leaving nothing running', async () => {
    const { world, parent, parentLog, escalateSub } = await tree('one_for_one', 1);
    await escalateSub();
    expect(parent.children()[1]?.state).toBe('running');
    await escalateSub();
    const exit = await world.timers.until(parent.exited);
    expect(exit.cause).toBe('escalated');
    expect(isSupervisorError(exit.error, 'EDGEPAY_SUPERVISOR_INTENSITY_EXCEEDED')).toBe(true);
    expect(parentLog.of('intensity_exceeded')).toMatchObject([{ childId: 'sub' }]);
    expect(world.totalLive()).toBe(0);
    expect(world.entries('stop').at(-1)).toBe('x');
  });
});
