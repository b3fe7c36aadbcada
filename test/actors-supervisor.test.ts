import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type SupervisorHandle, startSupervisor } from '../src/actors/supervisor.js';
import { isSupervisorError } from '../src/actors/supervisor-errors.js';
import type { SupervisorOptions } from '../src/actors/supervisor-options.js';
import { EventLog, type FakeChild, FakeWorld } from './support/fake-child.js';
import { settle } from './support/supervisor-timers.js';

function setup(overrides: Partial<SupervisorOptions> = {}, ids: readonly string[] = ['a', 'b', 'c']) {
  const world = new FakeWorld();
  const log = new EventLog();
  const options: SupervisorOptions = {
    id: 'sup',
    strategy: 'one_for_one',
    children: ids.map((id) => world.spec(id)),
    timers: world.timers,
    onEvent: log.listener,
    ...overrides,
  };
  return { world, log, timers: world.timers, options };
}

describe('supervisor lifecycle', () => {
  it('starts children in order and stops them in reverse order', async () => {
    const { world, log, timers, options } = setup();
    const sup = await startSupervisor(options);
    expect(world.entries('start')).toEqual(['a', 'b', 'c']);
    expect(sup.children()).toEqual([
      { id: 'a', state: 'running', restarts: 0 },
      { id: 'b', state: 'running', restarts: 0 },
      { id: 'c', state: 'running', restarts: 0 },
    ]);
    const exit = await timers.until(sup.stop(1_000));
    expect(exit).toEqual({ cause: 'shutdown' });
    expect(world.entries('stop')).toEqual(['c', 'b', 'a']);
    expect(world.totalLive()).toBe(0);
    expect(sup.children().map((child) => child.state)).toEqual(['stopped', 'stopped', 'stopped']);
    expect(log.of('child_started').map((event) => event.childId)).toEqual(['a', 'b', 'c']);
    expect(log.of('child_exited').every((event) => event.requested && event.cause === 'shutdown')).toBe(true);
    expect(log.of('supervisor_stopped')).toMatchObject([{ cause: 'shutdown', supervisorId: 'sup' }]);
    expect(await sup.stop()).toEqual({ cause: 'shutdown' });
  });

  it('rejects with a typed error naming the child that failed to start, after stopping the started ones in reverse', async () => {
    const { world, timers, options } = setup({}, ['a', 'b', 'c', 'd']);
    world.failStarts('c', 1);
    const error: unknown = await timers.until(startSupervisor(options)).catch((e: unknown) => e);
    expect(isSupervisorError(error, 'EDGEPAY_SUPERVISOR_START_FAILED')).toBe(true);
    expect(isSupervisorError(error) && error.details.childId).toBe('c');
    expect(world.entries('start')).toEqual(['a', 'b']);
    expect(world.entries('stop')).toEqual(['b', 'a']);
    expect(world.starts('d')).toBe(0);
    expect(world.totalLive()).toBe(0);
  });

  it('rejects bad options with EDGEPAY_SUPERVISOR_BAD_OPTIONS', async () => {
    const { world, options } = setup();
    const duplicate = startSupervisor({ ...options, children: [world.spec('a'), world.spec('a')] });
    await expect(duplicate).rejects.toMatchObject({ code: 'EDGEPAY_SUPERVISOR_BAD_OPTIONS' });
    await expect(startSupervisor({ ...options, intensity: -1 })).rejects.toMatchObject({ code: 'EDGEPAY_SUPERVISOR_BAD_OPTIONS' });
    await expect(startSupervisor({ ...options, backoff: { jitter: 2 } })).rejects.toMatchObject({ code: 'EDGEPAY_SUPERVISOR_BAD_OPTIONS' });
    expect(world.starts('a')).toBe(0);
  });

  it('whereis returns the current instance, undefined while it restarts, and the new one afterwards', async () => {
    const { world, timers, options } = setup({ intensity: 5, backoff: { initialMs: 50, jitter: 0 } });
    const specB = options.children[1];
    const sup = await startSupervisor(options);
    const first = sup.whereis<FakeChild>('b');
    expect(first?.instance).toBe(1);
    world.crash('b');
    await settle(1);
    expect(sup.whereis('b')).toBeUndefined();
    await timers.advance(1);
    expect(sup.children()[1]).toEqual({ id: 'b', state: 'restarting', restarts: 0 });
    await timers.advance(48);
    expect(sup.whereis('b')).toBeUndefined();
    await timers.advance(1);
    const second = sup.whereis<FakeChild>('b');
    expect(second?.instance).toBe(2);
    expect(second?.alive).toBe(true);
    expect(specB && sup.whereis(specB)).toBe(second);
    expect(sup.children()[1]).toEqual({ id: 'b', state: 'running', restarts: 1 });
    expect(sup.whereis('nope')).toBeUndefined();
    await timers.until(sup.stop());
    expect(sup.whereis('b')).toBeUndefined();
  });

  it('cancels a pending restart when stopped during the backoff', async () => {
    const { world, log, timers, options } = setup({ intensity: 5, backoff: { initialMs: 1_000, jitter: 0 } });
    const sup = await startSupervisor(options);
    world.crash('a');
    await timers.advance(10);
    expect(log.of('child_restarting')).toHaveLength(1);
    const exit = await timers.until(sup.stop());
    expect(exit.cause).toBe('shutdown');
    await timers.advance(10_000);
    expect(world.starts('a')).toBe(1);
    expect(world.totalLive()).toBe(0);
    expect(timers.pendingCount).toBe(0);
  });

  it('treats a child that ignores stop as killed at its timeout and still stops the rest', async () => {
    const { world, log, timers, options } = setup();
    world.setStopBehavior('b', { kind: 'ignore' });
    const sup = await startSupervisor({ ...options, children: [world.spec('a'), world.spec('b', { shutdownTimeoutMs: 300 }), world.spec('c')] });
    const stopping = sup.stop();
    await timers.advance(299);
    expect(world.entries('exit')).toEqual(['c:shutdown']);
    await timers.advance(1);
    expect(await timers.until(stopping)).toEqual({ cause: 'shutdown' });
    expect(world.entries('exit')).toEqual(['c:shutdown', 'b:killed', 'a:shutdown']);
    expect(log.of('child_exited').map((event) => `${event.childId}:${event.cause}`)).toEqual(['c:shutdown', 'b:killed', 'a:shutdown']);
  });

  it('writes off a child whose stop never settles after its timeout plus the grace margin', async () => {
    const { world, log, timers, options } = setup({ stopGraceMs: 500 });
    world.setStopBehavior('b', { kind: 'never' });
    const sup = await startSupervisor({ ...options, children: [world.spec('a'), world.spec('b', { shutdownTimeoutMs: 200 }), world.spec('c')] });
    const stopping = sup.stop();
    await timers.advance(699);
    expect(world.entries('stop')).toEqual(['c', 'b']);
    await timers.advance(1);
    expect(await timers.until(stopping)).toEqual({ cause: 'shutdown' });
    expect(world.entries('stop')).toEqual(['c', 'b', 'a']);
    const killed = log.of('child_exited').find((event) => event.childId === 'b');
    expect(killed?.cause).toBe('killed');
    expect(isSupervisorError(killed?.error, 'EDGEPAY_SUPERVISOR_STOP_TIMEOUT')).toBe(true);
  });

  it('shares a finite stop timeout between children and reports killed when it ran out', async () => {
    const { world, timers, options } = setup();
    for (const id of ['a', 'b', 'c']) world.setStopBehavior(id, { kind: 'ignore' });
    const sup = await startSupervisor(options);
    const started = timers.now();
    const exit = await timers.until(sup.stop(150), 10_000, 1);
    // c takes its full 100 ms, b the 50 ms left, a none.
    expect(timers.now() - started).toBeLessThanOrEqual(151);
    expect(exit.cause).toBe('killed');
    expect(isSupervisorError(exit.error, 'EDGEPAY_SUPERVISOR_STOP_TIMEOUT')).toBe(true);
    expect(world.entries('exit')).toEqual(['c:killed', 'b:killed', 'a:killed']);
  });

  it('escalates rather than restart a sibling that cannot be stopped', async () => {
    const { world, timers, options } = setup({ strategy: 'one_for_all', intensity: 5, stopGraceMs: 100 });
    world.setStopBehavior('c', { kind: 'never' });
    const sup = await startSupervisor(options);
    world.crash('a');
    const exit = await timers.until(sup.exited);
    expect(exit.cause).toBe('escalated');
    expect(isSupervisorError(exit.error, 'EDGEPAY_SUPERVISOR_CHILD_UNSTOPPABLE')).toBe(true);
    expect(world.starts('a')).toBe(1);
    expect(world.child('b')).toBeUndefined();
  });

  it('keeps supervising when an onEvent listener throws, and logs through pino', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const { world, timers, options } = setup({
      intensity: 5,
      logger: pino({ level: 'info' }, stream),
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    const sup: SupervisorHandle = await startSupervisor(options);
    world.crash('a');
    await timers.advance(100);
    expect(world.starts('a')).toBe(2);
    await timers.until(sup.stop());
    const records = lines.map((line) => JSON.parse(line) as { msg: string; level: number; cause?: string; err?: { message: string } });
    const crash = records.find((record) => record.msg === 'supervisor child_exited' && record.cause === 'crash');
    expect(crash?.level).toBe(40);
    expect(crash?.err?.message).toBe('a injected crash');
    expect(records.some((record) => record.msg === 'supervisor onEvent listener threw')).toBe(true);
  });
});
