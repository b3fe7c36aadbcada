import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { type ActorHandle, startActor } from '../src/actors/actor.js';
import type { ReplyOf } from '../src/actors/typed-protocol.js';
import type { ChainHead } from '../src/journal/journal.js';
import type { NodeActorCall, NodeActors } from '../src/node/actor-directory.js';
import type { ReaderStatus } from '../src/reader/reader-actor-protocol.js';
import type { QuorumResult } from '../src/replication/peers/quorum.js';
import type { Outcome } from '../src/standin/index.js';
import { fixture } from './fixtures/actors/runtime.js';

/*
 * Typed actor calls: the reply's type follows from the actor and the request (checked by the
 * compiler when the suite typechecks), and an actor's state is what its init returned, handed to
 * every request.
 */
describe("a node's actor directory", () => {
  it('gives each request its own reply type, and refuses requests an actor does not take', () => {
    expectTypeOf<ReplyOf<NodeActors['journal-writer'], { type: 'head' }>>().toEqualTypeOf<ChainHead>();
    expectTypeOf<ReplyOf<NodeActors['journal-writer'], { type: 'follow-up'; request: never }>>().toEqualTypeOf<Outcome>();
    expectTypeOf<ReplyOf<NodeActors['replicator'], { type: 'await-quorum'; seq: number; timeoutMs: number }>>().toEqualTypeOf<QuorumResult>();
    expectTypeOf<ReplyOf<NodeActors['reader:lane-1'], { type: 'status' }>>().toEqualTypeOf<ReaderStatus>();
    const call = (async () => undefined) as unknown as NodeActorCall;
    expectTypeOf(call('intake', { type: 'follow-up', request: {} as never }, 1)).resolves.toEqualTypeOf<Outcome>();
    // @ts-expect-error the uplink has no 'head'
    void call('uplink', { type: 'head' }, 1);
    // @ts-expect-error no actor of a node is called 'ledger'
    void call('ledger', { type: 'status' }, 1);
    expect(typeof call).toBe('function');
  });
});

describe('actor state', () => {
  let actor: ActorHandle<{ type: 'add'; by: number } | { type: 'read' }, number> | undefined;
  afterEach(async () => {
    await actor?.stop(2_000);
    actor = undefined;
  });

  it('is what init returned, and what one request leaves the next one sees', async () => {
    actor = await startActor({ id: 'counter', module: fixture('counter-actor'), mailboxCapacity: 8, init: { start: 40 } });
    expect(await actor.request({ type: 'read' })).toBe(40);
    expect(await actor.request({ type: 'add', by: 1 })).toBe(41);
    expect(await actor.request({ type: 'add', by: 1 })).toBe(42);
    expect(await actor.request({ type: 'read' })).toBe(42);
  });
});
