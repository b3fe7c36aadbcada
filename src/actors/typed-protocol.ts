/*
 * An actor's protocol as a type: its requests (a union tagged by `type`) and, for each type, the
 * reply. A caller's reply type then follows from the actor and the request it sends, so the path
 * of a payment can be followed by the compiler across the thread boundary, and a handler that
 * answers with something its protocol does not name fails to compile.
 */

export interface Tagged {
  readonly type: string;
}

export interface Protocol<Req extends Tagged, Replies extends { readonly [T in Req['type']]: unknown }> {
  readonly request: Req;
  readonly replies: Replies;
}

/** The widest protocol, for constraints. */
// biome-ignore lint/suspicious/noExplicitAny: a constraint must accept every reply map, and `unknown` would not (its replies are read covariantly).
export type AnyProtocol = Protocol<Tagged, any>;

/** The reply to one request. */
export type ReplyOf<P extends AnyProtocol, R extends P['request']> = P['replies'][R['type']];

/** Every reply the actor gives: what its handle() returns. */
export type AnyReplyOf<P extends AnyProtocol> = P['replies'][P['request']['type']];

/** The actors of one process by id, each with its protocol. */
export type ActorDirectory = { readonly [actorId: string]: AnyProtocol };

/** One request to an actor of a directory, with a timeout for this attempt. */
export type TypedCall<D extends ActorDirectory> = <A extends keyof D & string, R extends D[A]['request']>(actorId: A, request: R, timeoutMs: number) => Promise<ReplyOf<D[A], R>>;

/** The untyped call the runtimes offer (the message crosses a thread as structured clone). */
export type UntypedCall = (actorId: string, request: unknown, timeoutMs: number) => Promise<unknown>;

/**
 * The typed face of an untyped call. Sound as far as the directory is true: each id names an actor
 * running the module whose protocol the directory gives (the supervision tree is built from it).
 */
export function typedCall<D extends ActorDirectory>(call: UntypedCall): TypedCall<D> {
  return call as TypedCall<D>;
}
