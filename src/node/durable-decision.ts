import type { Outcome } from '../standin/index.js';
import type { JournalWriterRequest } from './actors/journal-writer-protocol.js';
import { retryWhileRestarting } from './retry.js';

/** One request to a named actor of this node, with a timeout for this attempt. */
export type ActorCall = <T>(actorId: string, request: unknown, timeoutMs: number) => Promise<T>;

export interface DecisionPathOptions {
  /** The whole decision, journal-writer restarts included, must be taken within this. */
  readonly requestTimeoutMs: number;
  /** Set when quorum acknowledgement is on: how long to wait for the store's peers. */
  readonly quorumTimeoutMs: number | undefined;
}

/**
 * The durable half of every payment, wherever its card was captured (on the capture pool or in
 * the lane's reader actor): the journal writer decides and fsyncs; if it is being restarted it is
 * asked again with the same idempotency key until the deadline, so a decision recorded before a
 * crash comes back as it was and a restart can neither lose a decision nor take it twice.
 */
export async function decideDurably(call: ActorCall, request: JournalWriterRequest, options: DecisionPathOptions): Promise<Outcome> {
  const outcome = await retryWhileRestarting((remainingMs) => call<Outcome>('journal-writer', request, remainingMs), { deadlineMs: options.requestTimeoutMs });
  return withQuorum(outcome, call, options.quorumTimeoutMs);
}

/**
 * Quorum acknowledgement: the decision is durable here already; with quorum on, it is answered
 * once a majority of the reachable peers hold it too, or local-only after the timeout (counted by
 * the replicator). A replicator that is down or restarting means local-only, never a failed payment.
 */
async function withQuorum(outcome: Outcome, call: ActorCall, quorumTimeoutMs: number | undefined): Promise<Outcome> {
  if (quorumTimeoutMs === undefined || outcome.entry === null || outcome.replayed) return outcome;
  const started = performance.now();
  try {
    const quorum = await call<Outcome['quorum']>('replicator', { type: 'await-quorum', seq: outcome.entry.seq, timeoutMs: quorumTimeoutMs }, quorumTimeoutMs + 1_000);
    return quorum ? { ...outcome, quorum } : outcome;
  } catch {
    return { ...outcome, quorum: { reached: false, held: 0, reachable: 0, needed: 0, waitedMs: performance.now() - started } };
  }
}

/** The options above as a node's configuration sets them. */
export function decisionPathOptions(config: {
  readonly actors: { readonly requestTimeoutMs: number };
  readonly replication?: { readonly quorum: { readonly enabled: boolean; readonly timeoutMs: number } } | undefined;
}): DecisionPathOptions {
  return {
    requestTimeoutMs: config.actors.requestTimeoutMs,
    quorumTimeoutMs: config.replication?.quorum.enabled ? config.replication.quorum.timeoutMs : undefined,
  };
}
