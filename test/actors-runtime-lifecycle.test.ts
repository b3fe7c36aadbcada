import { afterEach, describe, expect, it } from 'vitest';
import { startActor } from '../src/actors/actor.js';
import { isActorError, isRemoteError } from '../src/actors/errors.js';
import { SpareThreads } from '../src/actors/spare-threads.js';
import { BadInputError } from '../src/errors.js';
import { type Echo, captureLog, fixture, settle, startEcho } from './fixtures/actors/runtime.js';

const running: Echo[] = [];
async function echo(...args: Parameters<typeof startEcho>): Promise<Echo> {
  const actor = await startEcho(...args);
  running.push(actor);
  return actor;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((actor) => actor.stop(500)));
});

describe('stop', () => {
  it('finishes accepted requests, runs terminate and exits with shutdown', async () => {
    const { logger, records } = captureLog();
    const actor = await echo({ fixture: 'echo-actor', logger });
    const accepted = [actor.request({ op: 'sleep', ms: 40, value: 'first' }), actor.request({ op: 'echo', value: 'second' })];
    const exit = await actor.stop(2000);
    expect(exit).toEqual({ cause: 'shutdown', exitCode: 0 });
    await expect(Promise.all(accepted)).resolves.toEqual(['first', 'second']);
    expect(records).toContainEqual(expect.objectContaining({ actor: 'echo', terminating: true, msg: 'terminate ran', level: 30 }));
    expect(records).toContainEqual(expect.objectContaining({ actor: 'echo', cause: 'shutdown', msg: 'actor exited' }));
  });

  it('rejects new requests at once while stopping, and stop() twice gives the same exit', async () => {
    const actor = await echo();
    const parked = actor.request({ op: 'sleep', ms: 30, value: 'parked' });
    const stopping = actor.stop(2000);
    const refused = await settle(actor.request({ op: 'echo', value: 'late' }));
    expect(refused.error?.code).toBe('EDGEPAY_ACTOR_DOWN');
    expect(actor.stop(5)).toBe(stopping);
    await expect(parked).resolves.toBe('parked');
    expect((await stopping).cause).toBe('shutdown');
  });

  it('kills a worker whose terminate hangs once the shutdown timeout passes', async () => {
    const actor = await echo({ init: { hangTerminate: true } });
    const parked = settle(actor.request({ op: 'sleep', ms: 60_000, value: 'never' }, { timeoutMs: 20_000 }));
    const before = performance.now();
    const exit = await actor.stop(100);
    const tookMs = performance.now() - before;
    expect(exit.cause).toBe('killed');
    expect(tookMs).toBeGreaterThanOrEqual(95);
    expect(tookMs).toBeLessThan(1000);
    const result = await parked;
    expect(result.error?.code).toBe('EDGEPAY_ACTOR_DOWN');
    expect(result.error?.details).toMatchObject({ cause: 'killed' });
  });

  it('an actor that stops itself exits normal', async () => {
    const actor = await echo();
    await expect(actor.request({ op: 'stop-self' })).resolves.toBe('stopping');
    expect((await actor.exited).cause).toBe('normal');
  });
});

describe('start', () => {
  it('rejects with EDGEPAY_ACTOR_START_FAILED when init throws, keeping its code', async () => {
    const started = await settle(startEcho({ init: { failInit: { message: 'journal locked', code: 'EDGEPAY_JOURNAL_LOCKED' } } }));
    expect(isActorError(started.error, 'EDGEPAY_ACTOR_START_FAILED')).toBe(true);
    expect(started.error?.details).toMatchObject({ actorId: 'echo', reason: 'init_failed', exitCode: 1 });
    expect(started.error?.message).toMatch(/journal locked/);
    expect(isRemoteError((started.error as Error).cause, 'EDGEPAY_JOURNAL_LOCKED')).toBe(true);
  });

  it('rejects when init does not finish within startTimeoutMs', async () => {
    const before = performance.now();
    const started = await settle(startEcho({ init: { hangInit: true }, startTimeoutMs: 150 }));
    expect(started.error?.code).toBe('EDGEPAY_ACTOR_START_FAILED');
    expect(started.error?.details).toMatchObject({ reason: 'timeout' });
    expect(started.atMs - before).toBeLessThan(1500);
  });

  it('rejects when the worker ends before it is ready', async () => {
    const started = await settle(startEcho({ fixture: 'no-runtime-actor' }));
    expect(started.error?.code).toBe('EDGEPAY_ACTOR_START_FAILED');
    expect(started.error?.details).toMatchObject({ reason: 'exit', exitCode: 0 });
  });

  it('rejects when the module cannot be loaded', async () => {
    const started = await settle(startEcho({ module: new URL('./no-such-actor.js', fixture('echo-actor')) }));
    expect(started.error?.code).toBe('EDGEPAY_ACTOR_START_FAILED');
    expect(started.error?.details).toMatchObject({ reason: 'crash' });
  });

  it('refuses bad options with EDGEPAY_BAD_INPUT naming each field', async () => {
    const started = await settle(startEcho({ id: '', mailboxCapacity: 0, heartbeatMs: 100, hungAfterMs: 150 }));
    expect(started.error).toBeInstanceOf(BadInputError);
    const paths = (started.error as BadInputError).problems.map((p) => p.path);
    expect(paths).toEqual(['id', 'mailboxCapacity', 'hungAfterMs']);
  });

  it('forwards worker log records to the injected logger, tagged with the actor', async () => {
    const { logger, records } = captureLog();
    const actor = await echo({ logger, id: 'chatty' });
    await actor.request({ op: 'log', message: 'hello from the worker' });
    expect(records).toContainEqual(expect.objectContaining({ actor: 'chatty', from: 'fixture', msg: 'hello from the worker', level: 40 }));
    expect(actor.threadId).toBeGreaterThan(0);
  });
});

describe('spare threads', () => {
  it('starts actors on threads booted ahead of need, including after a crash', async () => {
    const spares = new SpareThreads();
    try {
      const first = await echo({ spares });
      await expect(first.request({ op: 'echo', value: 1 })).resolves.toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(spares.idleCount).toBe(1);
      await first.request({ op: 'crash-later', message: 'again' });
      expect((await first.exited).cause).toBe('crash');
      const second = await echo({ spares });
      expect(second.threadId).not.toBe(first.threadId);
      await expect(second.request({ op: 'echo', value: 2 })).resolves.toBe(2);
    } finally {
      await spares.close();
    }
  });

  it('boots no spare while refills are held (a tree starting), one per distinct limits once released', async () => {
    const spares = new SpareThreads();
    try {
      const release = spares.holdRefills();
      const first = await echo({ spares });
      const second = await echo({ spares });
      await expect(second.request({ op: 'echo', value: 1 })).resolves.toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(spares.idleCount).toBe(0);
      release();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(spares.idleCount).toBe(1);
      // Released once: refills go on as before.
      await first.request({ op: 'crash-later', message: 'gone' });
      expect((await first.exited).cause).toBe('crash');
      await echo({ spares });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(spares.idleCount).toBe(1);
    } finally {
      await spares.close();
    }
  });

  it('starts actors on threads that loaded their module ahead of need, one module at a time', async () => {
    const spares = new SpareThreads({ perLimits: 0 });
    try {
      spares.prewarm(fixture('concurrent-echo-actor'), undefined);
      spares.prewarm(fixture('echo-actor'), undefined);
      // Taken before or after its module finished loading: the actor starts either way, with its own init.
      const first = await echo({ spares });
      await expect(first.request({ op: 'echo', value: 1 })).resolves.toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = await echo({ spares, fixture: 'echo-actor' });
      await expect(second.request({ op: 'echo', value: 2 })).resolves.toBe(2);
      expect(second.threadId).not.toBe(first.threadId);
    } finally {
      await spares.close();
    }
  });

  it('reports start failures of a preloaded module when its actor starts', async () => {
    const spares = new SpareThreads({ perLimits: 0 });
    try {
      spares.prewarm(fixture('no-runtime-actor'), undefined);
      const missingModule = new URL('./no-such-actor.js', fixture('echo-actor'));
      spares.prewarm(missingModule, undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const noRuntime = await settle(startEcho({ spares, fixture: 'no-runtime-actor' }));
      expect(noRuntime.error?.message).toMatch(/did not call runActor/);
      const missing = await settle(startActor({ id: 'x', mailboxCapacity: 1, spares, module: missingModule }));
      expect(missing.error?.details).toMatchObject({ reason: 'init_failed' });
    } finally {
      await spares.close();
    }
  });

  it('reports start failures on a spare like on a fresh thread', async () => {
    const spares = new SpareThreads({ perLimits: 0 });
    try {
      const initFailed = await settle(startEcho({ spares, init: { failInit: { message: 'nope' } } }));
      expect(initFailed.error?.details).toMatchObject({ reason: 'init_failed' });
      const noRuntime = await settle(startEcho({ spares, fixture: 'no-runtime-actor' }));
      expect(noRuntime.error?.details).toMatchObject({ reason: 'init_failed' });
      expect(noRuntime.error?.message).toMatch(/did not call runActor/);
      const missing = await settle(startActor({ id: 'x', mailboxCapacity: 1, spares, module: new URL('./no-such-actor.js', fixture('echo-actor')) }));
      expect(missing.error?.details).toMatchObject({ reason: 'init_failed' });
    } finally {
      await spares.close();
    }
  });
});
