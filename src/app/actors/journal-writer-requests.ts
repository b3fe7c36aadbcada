import { parseRules } from '../../rules/rules.js';
import type { Journal } from '../../journal/journal.js';
import type { LatencyBuckets } from '../../metrics/latency-buckets.js';
import type { StandIn } from '../../standin/index.js';
import type { JournalWriterReply, JournalWriterRequest, SetRulesResult } from '../../node/journal-writer-protocol.js';

/** What the journal writer holds between requests. */
export interface JournalWriterState {
  readonly journal: Journal;
  readonly standIn: StandIn;
  /** Set when the node replicates: tells the replicator new rows are committed, at most once per turn. */
  readonly notifyReplicator: (() => void) | undefined;
  /** How long each group commit (one transaction, one fsync) took; read by the metrics at scrape time. */
  readonly commitLatency: LatencyBuckets;
}

/**
 * Never backwards: a delivery that lost a race with a restart (which loaded newer rules from disk)
 * or any older set offered later leaves the rules in force as they are.
 */
function setRules(standIn: StandIn, input: unknown): SetRulesResult {
  // Parsed again on this side of the thread boundary: only parseRules makes Rules.
  const next = parseRules(input);
  const current = standIn.currentRules();
  if (next.version <= current.version) return { applied: false, rulesVersion: current.version };
  standIn.setRules(next);
  return { applied: true, rulesVersion: next.version };
}

/**
 * The journal writer's answer to one request: the actor's handler, and the simulation's journal
 * writer in process. Many run at once on purpose: they meet in the group commit.
 */
export async function answerJournalWriter(state: JournalWriterState, message: JournalWriterRequest): Promise<JournalWriterReply> {
  const { journal, standIn, notifyReplicator, commitLatency } = state;
  switch (message.type) {
    case 'authorize': {
      const outcome = await standIn.authorize(message.request);
      if (outcome.entry !== null && !outcome.replayed) notifyReplicator?.();
      return outcome;
    }
    case 'check-card':
      return { declined: standIn.checkCard(message.request) };
    case 'follow-up': {
      const outcome = await standIn.followUp(message.request);
      if (outcome.entry !== null && !outcome.replayed) notifyReplicator?.();
      return outcome;
    }
    case 'forwarded':
      standIn.markForwarded(message.seqs);
      return { forwarded: message.seqs.length };
    case 'settled':
      standIn.recordForwarded(message.outcomes);
      return { forwarded: message.outcomes.length };
    case 'head':
      return journal.chainHead();
    case 'peer-entries':
      standIn.recordPeerEntries(message.approvals, message.releases);
      return { recorded: message.approvals.length };
    case 'exposure': {
      const stats = standIn.exposureView().stats();
      return {
        ownApprovalsTracked: stats.trackedApprovals,
        storedUnforwarded: stats.storedApprovals,
        peerApprovals: standIn.peerApprovalCount(),
        peerApprovalsIgnored: standIn.peerApprovalsIgnored(),
      };
    }
    case 'commit-latency':
      return commitLatency.snapshot();
    case 'set-rules':
      return setRules(standIn, message.rules);
  }
}
