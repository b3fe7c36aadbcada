import type { CollectorTally, RebuildCollector } from './collector.js';
import { RebuildError } from './errors.js';
import type { ExistingJournal } from './journal.js';
import type { SessionEnd, SessionResult } from './session.js';

export interface RebuildPeer {
  readonly nodeId: string;
  /** From the peer's retained status; null when it never announced one. */
  readonly online: boolean | null;
}

export interface RebuildReport {
  readonly nodeId: string;
  readonly journalPath: string;
  readonly installed: boolean;
  readonly entries: number;
  readonly headSeq: number;
  readonly headHash: string;
  /** The node's own retained status: its last announced (broker-acknowledged) head. */
  readonly announced: { readonly headSeq: number; readonly online: boolean; readonly wallMs: number } | null;
  /** Entries known or suspected to exist beyond the rebuilt head; toSeq null when the extent is unknown. */
  readonly missing: { readonly fromSeq: number; readonly toSeq: number | null } | null;
  readonly end: SessionEnd;
  readonly requests: number;
  readonly tally: CollectorTally;
  /**
   * The configured peers and their announced state. Repair answers carry the origin's signature,
   * not the holder's, and MQTT 3.1.1 does not name a publisher, so answers cannot be attributed.
   */
  readonly peers: readonly RebuildPeer[];
  readonly existing: ExistingJournal;
  readonly keptAt: string | null;
  readonly durationMs: number;
}

export interface JudgeInput {
  readonly nodeId: string;
  readonly journalPath: string;
  readonly collector: RebuildCollector;
  readonly session: SessionResult;
  readonly existing: ExistingJournal;
  readonly started: number;
  /** The time of judging, on the same clock as `started`. */
  readonly now: number;
  readonly acceptIncomplete: boolean;
  readonly evenIfOnline: boolean;
  readonly peerIds: readonly string[];
}

/**
 * Decides whether the collected chain may be installed. Complete means: collecting ended because a
 * request past the head stayed unanswered for the quiet period (no reachable holder has more),
 * and the head is at or past the node's last announced head. The announced head is only a lower
 * bound: a node that died uncleanly leaves its last will, which carries the head of its last
 * connect, and entries fsynced but never acknowledged by the broker exist on no peer at all.
 * A fork (two validly signed entries for one sequence number) is never installed.
 */
export function judge(input: JudgeInput): RebuildReport {
  const { collector, session, nodeId } = input;
  const chain = collector.entries();
  const head = chain.at(-1);
  const own = session.statuses.get(nodeId);
  const announced = own === undefined ? null : { headSeq: own.headSeq, online: own.online, wallMs: own.wallMs };
  const headSeq = head?.seq ?? collector.base.seq;
  const missing = announced !== null && announced.headSeq > headSeq ? { fromSeq: headSeq + 1, toSeq: announced.headSeq } : session.end !== 'quiet' ? { fromSeq: headSeq + 1, toSeq: null } : null;
  const report: RebuildReport = {
    nodeId,
    journalPath: input.journalPath,
    installed: false,
    entries: chain.length,
    headSeq,
    headHash: head?.hash ?? collector.base.hash,
    announced,
    missing,
    end: session.end,
    requests: session.requests,
    tally: collector.tally(),
    peers: input.peerIds.map((id) => ({ nodeId: id, online: session.statuses.get(id)?.online ?? null })),
    existing: input.existing,
    keptAt: null,
    durationMs: input.now - input.started,
  };
  const fork = collector.firstFork();
  if (fork !== undefined && collector.base.seq > 0 && fork.seq === collector.base.seq + 1 && fork.hashes.length === 1) {
    throw new RebuildError(
      'EDGEPAY_REBUILD_INCOMPLETE',
      `the peers' entry ${fork.seq} of ${nodeId} does not link to the journal's head ${collector.base.seq}: the restored journal and the store's copy diverge; nothing installed, rebuild without keeping it`,
      { report, fork },
    );
  }
  if (fork !== undefined) {
    throw new RebuildError(
      'EDGEPAY_REBUILD_INCOMPLETE',
      `two validly signed entries ${fork.seq} of ${nodeId} (${fork.hashes.map((h) => `${h.slice(0, 16)}…`).join(', ')}): the node's key signed a fork; nothing installed, investigate before rebuilding`,
      { report, fork },
    );
  }
  if (announced?.online === true && !input.evenIfOnline) {
    throw new RebuildError(
      'EDGEPAY_REBUILD_ORIGIN_ONLINE',
      `${nodeId}'s retained status says it is online (announced ${new Date(announced.wallMs).toISOString()}): the old box may still be writing this chain; stop it, or pass --even-if-online`,
      { report },
    );
  }
  if (headSeq === 0) {
    throw new RebuildError('EDGEPAY_REBUILD_EMPTY', `no verified entry 1 of ${nodeId} came back from the peers (${describeEnd(session.end)}); nothing installed`, { report });
  }
  if (missing !== null && !input.acceptIncomplete) {
    throw new RebuildError(
      'EDGEPAY_REBUILD_INCOMPLETE',
      `the chain of ${nodeId} reaches entry ${headSeq} (${chain.length} from the peers) but ${describeMissing(missing)} (${describeEnd(session.end)}); nothing installed, pass --accept-incomplete to install the verified prefix`,
      { report },
    );
  }
  return report;
}

export function describeMissing(missing: NonNullable<RebuildReport['missing']>): string {
  return missing.toSeq === null ? `entries from ${missing.fromSeq} on may exist (collecting did not end quietly)` : `entries ${missing.fromSeq}..${missing.toSeq} are missing (the node announced head ${missing.toSeq})`;
}

function describeEnd(end: SessionEnd): string {
  switch (end) {
    case 'quiet':
      return 'no peer had more';
    case 'timeout':
      return 'timed out while entries were still coming or none came';
    case 'fork':
      return 'a fork was found';
    case 'link_lost':
      return 'the broker connection was lost';
  }
}
