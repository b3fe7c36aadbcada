import { type TypedCall, type UntypedCall, typedCall } from '../actors/typed-protocol.js';
import type { ActorContext } from '../actors/worker-runtime.js';
import type { ReaderProtocol } from '../reader/reader-actor-protocol.js';
import type { UplinkProtocol } from '../reconcile/uplink-protocol.js';
import type { ReplicatorProtocol } from '../replication/replicator-protocol.js';
import type { IntakeProtocol } from './intake-protocol.js';
import type { JournalWriterProtocol } from './journal-writer-protocol.js';

/**
 * The actors of a node by the id the supervision tree registers them under, each with its
 * protocol: what may be asked of it and what it answers.
 */
export type NodeActors = {
  readonly 'journal-writer': JournalWriterProtocol;
  readonly intake: IntakeProtocol;
  readonly replicator: ReplicatorProtocol;
  readonly uplink: UplinkProtocol;
  /** One per lane: readerActorId(lane). */
  readonly [reader: `reader:${string}`]: ReaderProtocol;
};

export type NodeActorId = keyof NodeActors & string;

/** One request to an actor of this node, with a timeout for this attempt; the reply's type follows from the request. */
export type NodeActorCall = TypedCall<NodeActors>;

export function nodeActorCall(call: UntypedCall): NodeActorCall {
  return typedCall<NodeActors>(call);
}

/** The typed call of an actor thread: its requests to the node's other actors go through the parent's router. */
export function callsFrom(ctx: Pick<ActorContext, 'call'>): NodeActorCall {
  return nodeActorCall((actorId, request, timeoutMs) => ctx.call(actorId, request, { timeoutMs }));
}
