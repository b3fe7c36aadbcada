import { createHash } from 'node:crypto';

/**
 * Custody of a silent node's journal: the live peer with the highest rendezvous (highest random
 * weight) score for that node takes it and forwards its entries to the centre. Every peer computes
 * the same answer from the same live set without talking, and when the live set changes only the
 * custody of nodes whose custodian left moves. No lock is needed: the centre is idempotent per
 * (origin, seq), so two custodians during a membership change would only post duplicates it drops.
 */
export function rendezvousScore(silentNode: string, candidate: string): bigint {
  const digest = createHash('sha256').update(`${silentNode}\u0000${candidate}`, 'utf8').digest();
  return digest.readBigUInt64BE(0);
}

/** The custodian of `silentNode` among `live` (which must not include it), or undefined when nobody is live. */
export function custodianOf(silentNode: string, live: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const candidate of live) {
    if (candidate === silentNode) continue;
    const score = rendezvousScore(silentNode, candidate);
    // Ties (astronomically unlikely) go to the smaller id so every peer still agrees.
    if (score > bestScore || (score === bestScore && best !== undefined && candidate < best)) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

export interface LivenessView {
  /** Wall-clock ms of the last status or entry seen from each known node. */
  readonly lastSeenMs: ReadonlyMap<string, number>;
}

/**
 * The nodes this node holds in custody now: those silent past the deadline for which this node is
 * the rendezvous winner among the live peers, itself included. A last will alone does not hand
 * custody over: a node that lost the broker for a minute is still the best one to forward its own
 * journal, so only silence past the deadline counts.
 */
export function custodyOf(self: string, view: LivenessView, nowMs: number, silentAfterMs: number): string[] {
  const silent = (node: string) => nowMs - (view.lastSeenMs.get(node) ?? Number.NEGATIVE_INFINITY) > silentAfterMs;
  const nodes = [...view.lastSeenMs.keys()].filter((n) => n !== self);
  const live = [self, ...nodes.filter((n) => !silent(n))];
  return nodes
    .filter(silent)
    .filter((node) => custodianOf(node, live) === self)
    .sort();
}
