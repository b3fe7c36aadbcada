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

/**
 * Work done for the repair protocol. `repair_refused`: answers already in flight are at their bound
 * (or the link is down), the requester asks again. `repair_throttled`: the requester spent its byte
 * budget (repair-budget.ts), so the answer was cut short or not sent.
 */
export const REPAIR_EVENTS = ['repair_requested', 'repair_answered', 'repair_refused', 'repair_throttled'] as const;
export type RepairEvent = (typeof REPAIR_EVENTS)[number];

/**
 * The signed control messages beside the entries: a node's status, its quorum acks, its repair
 * requests. None of them carries money, but each moves something (custody, quorum, answer bytes),
 * so each is refused unless its own node signed it, and every refusal is counted by kind and reason.
 */
export const CONTROL_KINDS = ['status', 'ack', 'repair'] as const;
export type ControlKind = (typeof CONTROL_KINDS)[number];

/** Why a control message was refused, in the order they are checked. */
export const CONTROL_REFUSALS = [
  /** Not JSON, wrong shape, too large, a non-canonical signature encoding. */
  'malformed',
  /** No signature at all: the v1 wire format, or a forgery that did not try. */
  'unsigned',
  /** Claims to be from a node outside the key ring (or, for a repair request, not a peer). */
  'unknown_node',
  /** Claims to be from a node other than the one whose topic it came on. */
  'wrong_topic',
  /** The signature does not verify with the claimed node's pinned key. */
  'bad_signature',
  /** Dated beyond the clock tolerance in the future (statuses and acks): could freeze custody. */
  'future',
  /** Older than the status last accepted from that node: a replay or a reordered copy, ignored. */
  'stale',
] as const;
export type ControlRefusal = (typeof CONTROL_REFUSALS)[number];
export type ControlCounter = `${ControlKind}_${ControlRefusal}`;

export function controlCounter(kind: ControlKind, reason: ControlRefusal): ControlCounter {
  return `${kind}_${reason}`;
}

const CONTROL_COUNTERS: readonly ControlCounter[] = CONTROL_KINDS.flatMap((kind) => CONTROL_REFUSALS.map((reason) => controlCounter(kind, reason)));

/** Quorum acknowledgement of this node's own decisions (when enabled). */
export const QUORUM_EVENTS = ['quorum_reached', 'quorum_local_only'] as const;
export type QuorumEvent = (typeof QUORUM_EVENTS)[number];

export type CounterName = RejectReason | AcceptOutcome | RepairEvent | QuorumEvent | ControlCounter;

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
    for (const name of [...REJECT_REASONS, ...ACCEPT_OUTCOMES, ...REPAIR_EVENTS, ...QUORUM_EVENTS, ...CONTROL_COUNTERS]) all[name] = this.get(name);
    return all;
  }
}
