import type { ReplyOf } from '../actors/typed-protocol.js';
import type { NodeActorId, NodeActors } from './actor-directory.js';

/** One request to one of the node's actors, with no retry: the reply's type follows from the request. */
export type AskOnce = <A extends NodeActorId, R extends NodeActors[A]['request']>(actorId: A, request: R, timeoutMs: number) => Promise<ReplyOf<NodeActors[A], R>>;
