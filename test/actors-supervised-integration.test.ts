import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ActorHandle, type ChildSpec, type SupervisorHandle, SpareThreads, startActor, startSupervisor } from '../src/actors/index.js';
import type { EchoRequest } from '../src/actors/fixtures/echo-behaviour.js';
import { fixture } from './fixtures/actors/runtime.js';

type Echo = ActorHandle<EchoRequest, unknown>;
type CrashKind = 'crash-later' | 'reject-later' | 'exit' | 'oom' | 'hang';

const CRASHES: Record<CrashKind, { request: EchoRequest; cause: string }> = {
  'crash-later': { request: { op: 'crash-later', message: 'boom' }, cause: 'crash' },
  'reject-later': { request: { op: 'reject-later', message: 'nope' }, cause: 'crash' },
  exit: { request: { op: 'exit', exitCode: 3 }, cause: 'exit' },
  oom: { request: { op: 'oom' }, cause: 'resource_limits' },
  hang: { request: { op: 'hang' }, cause: 'hung' },
};

/** Starts of a child while another instance of it was still alive; must stay empty. */
const overlaps: string[] = [];

function echoSpec(id: string, live: Map<string, Set<number>>, spares?: SpareThreads): ChildSpec<Echo> {
  return {
    id,
    restart: 'permanent',
    shutdownTimeoutMs: 500,
    start: async () => {
      const handle = await startActor<EchoRequest, unknown>({
        id,
        module: fixture('concurrent-echo-actor'),
        mailboxCapacity: 64,
        heartbeatMs: 20,
        hungAfterMs: 200,
        resourceLimits: { maxOldGenerationSizeMb: 32 },
        ...(spares ? { spares } : {}),
      });
      // Record which threads are alive per child, to check there are never two at once.
      const threads = live.get(id) ?? new Set<number>();
      live.set(id, threads);
      if (threads.size > 0) overlaps.push(`${id}: thread ${handle.threadId} started while ${[...threads].join(',')} alive`);
      threads.add(handle.threadId);
      void handle.exited.then(() => threads.delete(handle.threadId));
      return handle;
    },
  };
}

async function serving(supervisor: SupervisorHandle, id: string, timeoutMs = 3_000): Promise<Echo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const handle = supervisor.whereis<Echo>(id);
    if (handle) {
      try {
        await handle.request({ op: 'echo', value: 'ping' }, { timeoutMs: 500 });
        return handle;
      } catch {
        // restarting under us; look again
      }
    }
    if (Date.now() > deadline) throw new Error(`${id} did not come back within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('supervised real actors', () => {
  it.each(Object.keys(CRASHES) as CrashKind[])('restarts per strategy after a real %s in a worker', async (kind) => {
    for (const strategy of ['one_for_one', 'one_for_all', 'rest_for_one'] as const) {
      const live = new Map<string, Set<number>>();
      const exits: string[] = [];
      const supervisor = await startSupervisor({
        id: `sup-${strategy}`,
        strategy,
        intensity: 5,
        periodMs: 5_000,
        children: ['a', 'b', 'c'].map((id) => echoSpec(id, live)),
        onEvent: (e) => {
          if (e.type === 'child_exited') exits.push(`${e.childId}:${e.cause}`);
        },
      });
      const before = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, supervisor.whereis<Echo>(id)!.threadId]));
      await supervisor
        .whereis<Echo>('b')!
        .request(CRASHES[kind].request)
        .catch(() => undefined);
      const expected = { one_for_one: ['b'], one_for_all: ['a', 'b', 'c'], rest_for_one: ['b', 'c'] }[strategy];
      // How long the failure takes to show differs by kind (an OOM allocates for a while, a hang
      // waits for missed heartbeats): wait for the supervisor to have restarted what it should.
      const deadline = Date.now() + 10_000;
      while (!supervisor.children().every((c) => c.state === 'running' && (expected.includes(c.id) ? c.restarts >= 1 : true))) {
        if (Date.now() > deadline) throw new Error(`${strategy} after ${kind}: children not restarted: ${JSON.stringify(supervisor.children())}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const after = Object.fromEntries(await Promise.all(['a', 'b', 'c'].map(async (id) => [id, (await serving(supervisor, id)).threadId])));
      expect(exits, strategy).toContain(`b:${CRASHES[kind].cause}`);
      const restarted = ['a', 'b', 'c'].filter((id) => after[id] !== before[id]);
      expect(restarted, `${strategy} after ${kind}`).toEqual(expected);
      await supervisor.stop();
      expect([...live.values()].every((threads) => threads.size === 0)).toBe(true);
    }
    expect(overlaps).toEqual([]);
  });

  it('property: under random crash schedules every request settles within its timeout, never two instances, nothing left after stop', async () => {
    const spares = new SpareThreads();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('one_for_one' as const, 'one_for_all' as const, 'rest_for_one' as const),
          fc.array(fc.record({ victim: fc.constantFrom('a', 'b'), kind: fc.constantFrom<CrashKind>('crash-later', 'reject-later', 'exit'), afterMs: fc.integer({ min: 0, max: 40 }) }), { minLength: 1, maxLength: 4 }),
          async (strategy, schedule) => {
            const live = new Map<string, Set<number>>();
            const supervisor = await startSupervisor({ id: 'prop', strategy, intensity: 100, periodMs: 1_000, children: ['a', 'b'].map((id) => echoSpec(id, live, spares)) });
            const timeoutMs = 300;
            const settled: Promise<number>[] = [];
            let sending = true;
            const load = (async () => {
              while (sending) {
                for (const id of ['a', 'b']) {
                  const handle = supervisor.whereis<Echo>(id);
                  if (!handle) continue;
                  const sentAt = performance.now();
                  settled.push(
                    handle.request({ op: 'sleep', ms: 2, value: id }, { timeoutMs }).then(
                      () => performance.now() - sentAt,
                      () => performance.now() - sentAt,
                    ),
                  );
                }
                await new Promise((resolve) => setTimeout(resolve, 3));
              }
            })();
            for (const step of schedule) {
              await new Promise((resolve) => setTimeout(resolve, step.afterMs));
              await supervisor
                .whereis<Echo>(step.victim)
                ?.request(CRASHES[step.kind].request)
                .catch(() => undefined);
            }
            await new Promise((resolve) => setTimeout(resolve, 50));
            sending = false;
            await load;
            const durations = await Promise.all(settled);
            // Every request settled (Promise.all returned) and none outlived its timeout by more than scheduling slack.
            expect(Math.max(...durations)).toBeLessThan(timeoutMs + 150);
            await supervisor.stop();
            expect(supervisor.children().every((c) => c.state === 'stopped')).toBe(true);
            expect([...live.values()].every((threads) => threads.size === 0)).toBe(true);
            expect(overlaps).toEqual([]);
          },
        ),
        { numRuns: 12 },
      );
    } finally {
      await spares.close();
    }
  });
});
