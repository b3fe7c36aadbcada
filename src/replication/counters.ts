/**
 * Why a message from the broker was not stored. Every rejection is counted under its reason and
 * logged; nothing rejected is ever written.
 */
export const REJECT_REASONS = [
  /** Not JSON, wrong shape, too large, or an entry whose nodeId is not the envelope's origin. */
  'malformed',
  /** Signed in the name of a node that is not in the fleet's key ring. */
  'unknown_key',
  /** The signature does not verify with the origin's key: a forgery or a corrupted message. */
  'bad_signature',
  /** The content does not hash to the signed hash: altered after signing. */
  'bad_hash',
  /** A signed entry that disagrees with the stored chain at its sequence: a fork or a stolen key. Alert. */
  'conflict',
  /** A valid entry on another node's journal topic: someone re-publishing under a name not theirs. */
  'wrong_topic',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** What happened to a verified entry offered to the replica store. */
export const ACCEPT_OUTCOMES = [
  /** Appended to the origin's replica chain (drained pending entries count here too). */
  'stored',
  /** Already held with the same hash: a redelivery or a replay; nothing written. */
  'duplicate',
  /** Beyond the next expected sequence: held in memory until the gap is repaired. */
  'pending',
  /** Beyond the next expected sequence with the pending buffer full: dropped, repair will bring it again. */
  'pending_full',
] as const;
export type AcceptOutcome = (typeof ACCEPT_OUTCOMES)[number];

/** Work done for the repair protocol. */
export const REPAIR_EVENTS = ['repair_requested', 'repair_answered', 'repair_refused'] as const;
export type RepairEvent = (typeof REPAIR_EVENTS)[number];

/** Quorum acknowledgement of this node's own decisions (when enabled). */
export const QUORUM_EVENTS = ['quorum_reached', 'quorum_local_only'] as const;
export type QuorumEvent = (typeof QUORUM_EVENTS)[number];

export type CounterName = RejectReason | AcceptOutcome | RepairEvent | QuorumEvent;

export type CounterSnapshot = Readonly<Record<CounterName, number>>;

export class Counters {
  private readonly values = new Map<CounterName, number>();

  increment(name: CounterName, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  get(name: CounterName): number {
    return this.values.get(name) ?? 0;
  }

  snapshot(): CounterSnapshot {
    const all = {} as Record<CounterName, number>;
    for (const name of [...REJECT_REASONS, ...ACCEPT_OUTCOMES, ...REPAIR_EVENTS, ...QUORUM_EVENTS]) all[name] = this.get(name);
    return all;
  }
}
