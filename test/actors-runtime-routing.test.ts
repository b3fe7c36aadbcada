import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActorRouter } from '../src/actors/actor.js';
import { ActorError, isRemoteError } from '../src/actors/errors.js';
import type { CaughtCall, EchoRequest } from '../src/actors/fixtures/echo-behaviour.js';
import { type Echo, settle, startEcho } from './fixtures/actors/runtime.js';

const actors = new Map<string, Echo>();
/** The way a node would route: by name, through the target's own bounded mailbox. */
const router: ActorRouter = (to, request, timeoutMs) => {
  const target = actors.get(to);
  if (target === undefined) return Promise.reject(new ActorError('EDGEPAY_ACTOR_UNAVAILABLE', `no actor named ${to}`, { actorId: to }));
  return target.request(request as EchoRequest, { timeoutMs });
};

beforeAll(async () => {
  for (const id of ['a', 'b', 'c', 'lonely']) {
    actors.set(id, await startEcho({ id, fixture: 'echo-actor', ...(id === 'lonely' ? {} : { router }) }));
  }
  actors.set('gone', await startEcho({ id: 'gone' }));
  await (actors.get('gone') as Echo).stop(500);
});

afterAll(async () => {
  await Promise.all([...actors.values()].map((actor) => actor.stop(500)));
});

function actor(id: string): Echo {
  return actors.get(id) as Echo;
}

async function caught(from: string, to: string, request: unknown, timeoutMs?: number): Promise<CaughtCall['caught']> {
  const reply = (await actor(from).request({ op: 'call', to, request, catch: true, ...(timeoutMs ? { timeoutMs } : {}) })) as CaughtCall;
  return reply.caught;
}

describe('routing between actors', () => {
  it('reaches another actor through the router', async () => {
    await expect(actor('a').request({ op: 'call', to: 'b', request: { op: 'echo', value: { n: 7 } } })).resolves.toEqual({ n: 7 });
  });

  it('propagates a remote handler error with its code, through any number of hops', async () => {
    const fail = { op: 'fail', message: 'journal full', code: 'EDGEPAY_JOURNAL_FULL' };
    const oneHop = await settle(actor('a').request({ op: 'call', to: 'b', request: fail }));
    expect(isRemoteError(oneHop.error, 'EDGEPAY_JOURNAL_FULL')).toBe(true);
    expect(oneHop.error?.message).toBe('journal full');
    expect(oneHop.error?.details).toMatchObject({ actorId: 'a' });

    const twoHops = await settle(actor('a').request({ op: 'call', to: 'b', request: { op: 'call', to: 'c', request: fail } }));
    expect(isRemoteError(twoHops.error, 'EDGEPAY_JOURNAL_FULL')).toBe(true);

    expect(await caught('a', 'b', fail)).toMatchObject({ name: 'ActorError', code: 'EDGEPAY_ACTOR_REMOTE_ERROR', remoteCode: 'EDGEPAY_JOURNAL_FULL', message: 'journal full' });
  });

  it("keeps the runtime's verdict about the target as the code the calling actor sees", async () => {
    expect(await caught('a', 'nobody', { op: 'echo', value: 1 })).toMatchObject({ code: 'EDGEPAY_ACTOR_UNAVAILABLE' });
    expect(await caught('lonely', 'b', { op: 'echo', value: 1 })).toMatchObject({ code: 'EDGEPAY_ACTOR_UNAVAILABLE' });
    expect(await caught('a', 'gone', { op: 'echo', value: 1 })).toMatchObject({ code: 'EDGEPAY_ACTOR_DOWN' });
    expect(await caught('a', 'b', { op: 'sleep', ms: 200, value: 1 }, 30)).toMatchObject({ code: 'EDGEPAY_ACTOR_TIMEOUT' });
  });

  it("reports a target's failure to the original caller as remote, never as its own actor being down", async () => {
    const result = await settle(actor('a').request({ op: 'call', to: 'gone', request: { op: 'echo', value: 1 } }));
    expect(result.error?.code).toBe('EDGEPAY_ACTOR_REMOTE_ERROR');
    expect(result.error?.remoteCode).toBe('EDGEPAY_ACTOR_DOWN');
  });
});
