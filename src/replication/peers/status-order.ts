import type { NodeStatus } from '../../wire/status-message.js';

/**
 * How far ahead of this node's wall clock a status or ack may be dated. Liveness (and so custody)
 * runs on the sender's stamp, so without a bound one future-dated status would keep its node
 * "alive" for as long as it claims and custody would never move.
 *
 * Why 15 minutes: clocks in a store are NTP-disciplined and agree to well under a second, but NTP
 * steps a clock that drifted, and the simulation (src/sim/fault-injector.ts, 'clock-jump') steps the
 * shared wall clock by up to ±10 minutes at once. A status stamped just before a 10-minute backward
 * step arrives dated 10 minutes ahead (plus a delivery hop); a live node restamps with its next
 * heartbeat (5 s in the simulation, 30 s by default) long before a second step could add to it. 15
 * minutes keeps every live honest node inside the bound with 5 minutes to spare, while a forger can
 * hold custody off by at most that long. A receiver counts a stamp no later than its own now (see
 * Subscriber), so even a status inside the bound buys its node no time beyond its arrival.
 */
export const MAX_FUTURE_SKEW_MS = 15 * 60_000;

/**
 * How far a status's session may lead this node's wall clock. The session is an ordering key, not
 * a date liveness runs on: a node whose clock was stepped back keeps its sessions above the last
 * one it kept (status-session.ts), so after a few steps back they lead its own clock by the sum of
 * the steps, and its statuses must still be taken. The bound only keeps a stolen key from pushing
 * the key so far ahead that the node's own statuses would look old for good.
 */
export const MAX_SESSION_LEAD_MS = 24 * 3_600_000;

export type StatusVerdict = 'fresh' | 'future' | 'stale';

/**
 * Where a status stands in its node's own order: by session (the wall-clock start of the
 * connection, which the reporter never lets go backwards within a process), then online before
 * offline (the last will is stamped at connect, before the session's heartbeats, yet ends the
 * session), then the session's counter. The counter, not the wall clock, orders one session's
 * statuses, so a clock stepped back mid-session does not make a node's fresh statuses look old.
 */
export function compareStatusOrder(a: NodeStatus, b: NodeStatus): number {
  if (a.session !== b.session) return a.session < b.session ? -1 : 1;
  const phase = Number(!a.online) - Number(!b.online);
  if (phase !== 0) return phase;
  return a.n === b.n ? 0 : a.n < b.n ? -1 : 1;
}

export function isFutureDated(wallMs: number, nowMs: number): boolean {
  return wallMs > nowMs + MAX_FUTURE_SKEW_MS;
}

/** A status this node may continue its own order after (see StatusReporter.observeOwn). */
export function isUsableOwnStatus(status: NodeStatus, nowMs: number): boolean {
  return !isFutureDated(status.wallMs, nowMs) && status.session <= nowMs + MAX_SESSION_LEAD_MS;
}

/**
 * The last status accepted from each node, and the verdict on the next: future-dated ones are
 * refused, ones older than the last accepted are ignored (a replay, say an old "offline" to take a
 * node out of the quorum count, or a copy overtaken in transit); an equal one is a redelivery and
 * changes nothing. Pure: the receiver's wall clock comes in as an argument.
 */
export class StatusFreshness {
  private readonly last = new Map<string, NodeStatus>();

  admit(status: NodeStatus, nowMs: number): StatusVerdict {
    if (isFutureDated(status.wallMs, nowMs) || status.session > nowMs + MAX_SESSION_LEAD_MS) return 'future';
    const last = this.last.get(status.nodeId);
    if (last !== undefined && compareStatusOrder(status, last) < 0) return 'stale';
    this.last.set(status.nodeId, status);
    return 'fresh';
  }
}
