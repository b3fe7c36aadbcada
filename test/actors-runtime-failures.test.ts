import { afterAll, describe, expect, it } from 'vitest';
import type { ExitCause } from '../src/actors/child.js';
import type { EchoRequest } from '../src/actors/fixtures/echo-behaviour.js';
import { type Echo, type EchoOptions, freshMetrics, metricValue, settle, startEcho } from './fixtures/actors/runtime.js';

/** In-flight requests must be released by the exit itself, long before their own timeout. */
const RELEASE_BOUND_MS = 50;
const IN_FLIGHT_TIMEOUT_MS = 20_000;

const { registry, metrics } = freshMetrics();
const leftovers: Echo[] = [];

afterAll(async () => {
  await Promise.all(leftovers.map((actor) => actor.stop(500)));
});

interface Observed {
  readonly actor: Echo;
  readonly exit: Awaited<Echo['exited']>;
  readonly exitAt: number;
  readonly triggeredAt: number;
}

/**
 * Starts an actor, parks two requests in it that would take far longer than the test, pulls the
 * trigger, and checks the parked requests were rejected with EDGEPAY_ACTOR_DOWN when it died.
 */
async function failWith(trigger: EchoRequest, cause: ExitCause, options: EchoOptions = {}): Promise<Observed> {
  const id = options.id ?? `victim-${cause}`;
  const actor = await startEcho({ metrics, ...options, id });
  leftovers.push(actor);
  const parked = [1, 2].map((i) => settle(actor.request({ op: 'sleep', ms: 60_000, value: i }, { timeoutMs: IN_FLIGHT_TIMEOUT_MS })));
  const triggeredAt = performance.now();
  await actor.request(trigger);
  const exit = await actor.exited;
  const exitAt = performance.now();
  expect(exit.cause).toBe(cause);
  for (const result of await Promise.all(parked)) {
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('EDGEPAY_ACTOR_DOWN');
    expect(result.error?.details).toMatchObject({ actorId: id, cause });
    expect(result.atMs - exitAt).toBeLessThan(RELEASE_BOUND_MS);
  }
  const after = await settle(actor.request({ op: 'echo', value: 'too late' }));
  expect(after.error?.code).toBe('EDGEPAY_ACTOR_DOWN');
  expect(after.atMs - exitAt).toBeLessThan(RELEASE_BOUND_MS);
  expect(actor.mailboxDepth).toBe(0);
  return { actor, exit, exitAt, triggeredAt };
}

describe('failure detection', () => {
  it('an uncaught throw outside any request is a crash, with the error', async () => {
    const { exit } = await failWith({ op: 'crash-later', message: 'kaboom' }, 'crash');
    expect(exit.error?.message).toBe('kaboom');
    expect(exit.exitCode).toBe(1);
  });

  it('an unhandled rejection is a crash, with the error', async () => {
    const { exit } = await failWith({ op: 'reject-later', message: 'nobody caught me' }, 'crash');
    expect(exit.error?.message).toBe('nobody caught me');
  });

  it('process.exit(3) is an exit with code 3', async () => {
    const { exit } = await failWith({ op: 'exit', exitCode: 3 }, 'exit');
    expect(exit.exitCode).toBe(3);
    expect(exit.error).toBeUndefined();
  });

  it('process.exit(0) the parent did not ask for is abnormal too', async () => {
    const { exit } = await failWith({ op: 'exit', exitCode: 0 }, 'exit');
    expect(exit.exitCode).toBe(0);
  });

  it('running out of heap under resourceLimits is resource_limits', async () => {
    const { exit } = await failWith({ op: 'oom' }, 'resource_limits', { resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } });
    expect((exit.error as Error & { code?: string }).code).toBe('ERR_WORKER_OUT_OF_MEMORY');
  });

  it('a busy loop is detected by missed heartbeats within hungAfterMs and terminated as hung', async () => {
    const hungAfterMs = 200;
    const { exit, exitAt, triggeredAt } = await failWith({ op: 'hang' }, 'hung', { heartbeatMs: 20, hungAfterMs });
    expect(exit.error?.message).toMatch(/no heartbeat/);
    const detectedAfterMs = exitAt - triggeredAt;
    expect(detectedAfterMs).toBeGreaterThanOrEqual(hungAfterMs - 40);
    expect(detectedAfterMs).toBeLessThan(hungAfterMs * 2 + 200);
  });

  it('counts abnormal exits by cause', async () => {
    const count = (cause: string) => metricValue(registry, 'edgepay_actor_crashes_total', { actor: `victim-${cause}`, cause });
    expect(await count('crash')).toBe(2);
    expect(await count('exit')).toBe(2);
    expect(await count('resource_limits')).toBe(1);
    expect(await count('hung')).toBe(1);
  });
});

describe('exited', () => {
  it('resolves exactly once, never rejects, and stop() afterwards returns the same exit', async () => {
    const { actor, exit } = await failWith({ op: 'crash-later', message: 'once' }, 'crash', { id: 'victim-again' });
    await expect(actor.exited).resolves.toBe(exit);
    await expect(actor.stop(10)).resolves.toBe(exit);
  });
});
