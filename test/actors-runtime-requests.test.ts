import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isActorError, isRemoteError } from '../src/actors/errors.js';
import { type Echo, fixture, freshMetrics, metricValue, settle, startEcho } from './fixtures/actors/runtime.js';

const running: Echo[] = [];
async function echo(...args: Parameters<typeof startEcho>): Promise<Echo> {
  const actor = await startEcho(...args);
  running.push(actor);
  return actor;
}

beforeAll(() => {
  fixture('echo-actor');
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((actor) => actor.stop(1000)));
});

describe('request/reply', () => {
  it('answers many concurrent requests, matching out-of-order replies by correlation id', async () => {
    const actor = await echo({ mailboxCapacity: 256 });
    const finished: number[] = [];
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        actor.request({ op: 'sleep', ms: (i * 7) % 23, value: { i } }).then((reply) => {
          finished.push(i);
          return reply;
        }),
      ),
    );
    expect(replies).toEqual(Array.from({ length: 200 }, (_, i) => ({ i })));
    expect(finished).not.toEqual([...finished].sort((a, b) => a - b));
    expect(actor.mailboxDepth).toBe(0);
  });

  it('handles one message at a time by default, in arrival order', async () => {
    const actor = await echo({ fixture: 'echo-actor' });
    const finished: string[] = [];
    await Promise.all([actor.request({ op: 'sleep', ms: 40, value: 'slow' }).then((v) => finished.push(String(v))), actor.request({ op: 'echo', value: 'fast' }).then((v) => finished.push(String(v)))]);
    expect(finished).toEqual(['slow', 'fast']);
  });

  it('rejects with EDGEPAY_ACTOR_TIMEOUT at the deadline and ignores the late reply', async () => {
    const actor = await echo();
    const sentAt = performance.now();
    const late = await settle(actor.request({ op: 'sleep', ms: 150, value: 'late' }, { timeoutMs: 30 }));
    expect(late.error?.code).toBe('EDGEPAY_ACTOR_TIMEOUT');
    expect(late.error?.details).toMatchObject({ actorId: 'echo', timeoutMs: 30 });
    expect(late.atMs - sentAt).toBeLessThan(130);
    // Still queued in the worker, so it still counts against the mailbox until the late reply lands.
    expect(actor.mailboxDepth).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(actor.mailboxDepth).toBe(0);
    await expect(actor.request({ op: 'echo', value: 'next' })).resolves.toBe('next');
  });

  it('uses the handle default timeout when a request names none', async () => {
    const actor = await echo({ requestTimeoutMs: 25 });
    const result = await settle(actor.request({ op: 'sleep', ms: 100, value: 'x' }));
    expect(result.error?.code).toBe('EDGEPAY_ACTOR_TIMEOUT');
  });
});

describe('bounded mailbox', () => {
  it('rejects at once with EDGEPAY_ACTOR_OVERLOADED when full, drops nothing, and accepts again after', async () => {
    const { registry, metrics } = freshMetrics();
    const actor = await echo({ fixture: 'echo-actor', mailboxCapacity: 4, metrics });
    const slow = Array.from({ length: 4 }, (_, i) => actor.request({ op: 'sleep', ms: 30, value: i }));
    expect(actor.mailboxDepth).toBe(4);
    expect(await metricValue(registry, 'edgepay_actor_mailbox_depth', { actor: 'echo' })).toBe(4);

    const before = performance.now();
    const rejected = await settle(actor.request({ op: 'echo', value: 'one too many' }));
    expect(rejected.error?.code).toBe('EDGEPAY_ACTOR_OVERLOADED');
    expect(rejected.error?.details).toMatchObject({ actorId: 'echo', mailboxCapacity: 4 });
    expect(rejected.atMs - before).toBeLessThan(10);
    expect(actor.mailboxDepth).toBe(4);

    await expect(Promise.all(slow)).resolves.toEqual([0, 1, 2, 3]);
    expect(actor.mailboxDepth).toBe(0);
    await expect(actor.request({ op: 'echo', value: 'accepted' })).resolves.toBe('accepted');
    expect(await metricValue(registry, 'edgepay_actor_overloads_total', { actor: 'echo' })).toBe(1);
    expect(await metricValue(registry, 'edgepay_actor_mailbox_depth', { actor: 'echo' })).toBe(0);
  });
});

describe('handler errors', () => {
  it('rejects with EDGEPAY_ACTOR_REMOTE_ERROR keeping the remote code, message and details, and keeps serving', async () => {
    const actor = await echo();
    const failed = await settle(actor.request({ op: 'fail', message: 'journal full', code: 'EDGEPAY_JOURNAL_FULL', details: { sizeBytes: 42 } }));
    expect(isRemoteError(failed.error, 'EDGEPAY_JOURNAL_FULL')).toBe(true);
    expect(failed.error?.message).toBe('journal full');
    expect(failed.error?.remoteCode).toBe('EDGEPAY_JOURNAL_FULL');
    expect(failed.error?.details).toMatchObject({ actorId: 'echo', remoteName: 'Error', remoteDetails: { sizeBytes: 42 } });

    const uncoded = await settle(actor.request({ op: 'fail', message: 'plain' }));
    expect(isRemoteError(uncoded.error)).toBe(true);
    expect(uncoded.error?.remoteCode).toBeUndefined();

    const uncloneable = await settle(actor.request({ op: 'uncloneable' }));
    expect(isRemoteError(uncloneable.error)).toBe(true);
    expect(uncloneable.error?.details).toMatchObject({ remoteName: 'DataCloneError' });

    await expect(actor.request({ op: 'echo', value: 'still here' })).resolves.toBe('still here');
  });

  it('rejects a request that cannot be cloned without sending it', async () => {
    const actor = await echo();
    const result = await settle(actor.request({ op: 'echo', value: () => undefined }));
    expect(result.error?.code).toBe('EDGEPAY_BAD_INPUT');
    expect(actor.mailboxDepth).toBe(0);
    expect(isActorError(result.error)).toBe(false);
  });
});
