import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { ActorError, isRemoteError } from '../src/actors/errors.js';
import { classifyExit } from '../src/actors/exit-cause.js';
import { ActorMetrics } from '../src/actors/metrics.js';
import { PendingTable } from '../src/actors/pending.js';
import { callErrorFrom, remoteErrorFrom, toWireError } from '../src/actors/wire-error.js';
import { metricValue } from './fixtures/actors/runtime.js';

describe('classifyExit', () => {
  it.each([
    [{ verdict: undefined, stopRequested: true, selfStopped: false, exitCode: 0 }, 'shutdown'],
    [{ verdict: undefined, stopRequested: false, selfStopped: true, exitCode: 0 }, 'normal'],
    [{ verdict: undefined, stopRequested: false, selfStopped: false, exitCode: 0 }, 'exit'],
    [{ verdict: undefined, stopRequested: true, selfStopped: false, exitCode: 2 }, 'exit'],
    [{ verdict: { cause: 'killed' as const }, stopRequested: true, selfStopped: false, exitCode: 1 }, 'killed'],
    [{ verdict: { cause: 'hung' as const }, stopRequested: false, selfStopped: false, exitCode: 1 }, 'hung'],
  ])('%o → %s', (facts, cause) => {
    expect(classifyExit(facts)).toEqual({ ...(facts.verdict ?? {}), cause, exitCode: facts.exitCode });
  });
});

describe('wire errors', () => {
  it('keeps name, message, code and details of anything thrown, across any number of hops', () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string({ minLength: 1 }), { nil: undefined }), fc.integer(), fc.integer({ min: 1, max: 4 }), (message, code, n, hops) => {
        let error: unknown = Object.assign(new Error(message), { code, details: { n } });
        for (let hop = 0; hop < hops; hop++) error = remoteErrorFrom(structuredClone(toWireError(error)), `hop${hop}`);
        expect(isRemoteError(error)).toBe(true);
        const remote = error as ActorError;
        expect(remote.message).toBe(message);
        expect(remote.remoteCode).toBe(code);
        expect(remote.details).toMatchObject({ actorId: `hop${hops - 1}`, remoteName: 'Error', remoteDetails: { n } });
      }),
    );
  });

  it("keeps the runtime's own verdicts for a routed call, but never a handler's runtime code", () => {
    const verdict = new ActorError('EDGEPAY_ACTOR_DOWN', 'b is down', { actorId: 'b', cause: 'crash' });
    expect(callErrorFrom(toWireError(verdict), 'b')).toMatchObject({ code: 'EDGEPAY_ACTOR_DOWN', details: { actorId: 'b', cause: 'crash' } });
    const thrownByHandler = remoteErrorFrom(toWireError(verdict), 'b');
    expect(callErrorFrom(toWireError(thrownByHandler), 'b')).toMatchObject({ code: 'EDGEPAY_ACTOR_REMOTE_ERROR', remoteCode: 'EDGEPAY_ACTOR_DOWN' });
  });

  it('survives details that cannot be cloned and values that are not errors', () => {
    const wire = toWireError(Object.assign(new Error('x'), { details: { when: new Date(0), fn: () => 1 } }));
    expect(() => structuredClone(wire)).not.toThrow();
    expect(toWireError('just a string')).toMatchObject({ name: 'NonError', message: expect.stringContaining('just a string') });
  });
});

describe('PendingTable', () => {
  it('times out, keeps the abandoned entry counted until its late reply, then ignores that reply', () => {
    vi.useFakeTimers();
    try {
      const table = new PendingTable<string>({ keepAfterTimeout: true, timeoutError: (ms) => new Error(`timeout ${ms}`) });
      const { id, promise } = table.open(100);
      const seen = promise.then(
        () => 'resolved',
        (e: Error) => e.message,
      );
      vi.advanceTimersByTime(100);
      expect(table.size).toBe(1);
      expect(table.resolve(id, 'late')).toBe(true);
      expect(table.size).toBe(0);
      expect(table.resolve(id, 'again')).toBe(false);
      return expect(seen).resolves.toBe('timeout 100');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('ActorMetrics', () => {
  it('counts restarts for the supervisor and shares one instance per registry', async () => {
    const registry = new Registry();
    const metrics = ActorMetrics.for(registry);
    expect(ActorMetrics.for(registry)).toBe(metrics);
    metrics.restarted('journal');
    metrics.restarted('journal');
    metrics.exited('journal', 'shutdown');
    metrics.exited('journal', 'killed');
    expect(await metricValue(registry, 'edgepay_actor_restarts_total', { actor: 'journal' })).toBe(2);
    expect(await metricValue(registry, 'edgepay_actor_crashes_total', { actor: 'journal', cause: 'killed' })).toBe(1);
    expect(await metricValue(registry, 'edgepay_actor_crashes_total', { actor: 'journal', cause: 'shutdown' })).toBe(0);
  });
});
