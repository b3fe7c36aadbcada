// The worker-side module alone: the package index would load pino and prom-client into every actor thread.
import { runActor } from '../../actors/worker-runtime.js';
import { parseRules } from '../../rules/rules.js';
import { Journal } from '../../journal/journal.js';
import { LatencyBuckets } from '../../metrics/latency-buckets.js';
import { StandIn } from '../../standin/index.js';
import { journalPathOf } from '../../config/data-files.js';
import { loadRulesInForce } from '../../node/rules-source.js';
import { loadPeerApprovals } from '../../node/peer-approvals.js';
import { callsFrom } from '../../node/actor-directory.js';
import type { JournalWriterInit, JournalWriterReply, JournalWriterRequest, SetRulesResult } from '../../node/journal-writer-protocol.js';

/*
 * The journal writer actor: owns the journal and the stand-in decisions, because a decision and
 * the entry that records it must be taken in one serial order. Many requests are in handle() at
 * once on purpose: they meet in the group commit, so one fsync covers them all.
 */
interface JournalWriterState {
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

runActor<JournalWriterRequest, JournalWriterReply, JournalWriterInit, JournalWriterState>({
  maxConcurrent: 4_096,
  init({ config }, ctx) {
    const inForce = loadRulesInForce(config);
    const rules = inForce.rules;
    if (inForce.problem !== undefined) ctx.log.warn({ problem: inForce.problem }, 'distributed rules on disk not used; deciding with the configured rules');
    ctx.log.info({ version: rules.version, hotCardsVersion: rules.hotCards.version, source: inForce.source }, 'offline rules loaded');
    const commitLatency = new LatencyBuckets();
    const journal = Journal.open({
      path: journalPathOf(config),
      nodeId: config.nodeId,
      busyTimeoutMs: config.journal.busyTimeoutMs,
      tailCheckEntries: config.journal.tailCheckEntries,
      // The supervisor starts a new journal writer only after the old thread has exited.
      singleInstanceInProcess: true,
      // `edgepay node init` creates a node's journal; a node never starts one by itself.
      mustExist: true,
    });
    const standIn = StandIn.open({
      journal,
      rules,
      groupCommit: {
        maxBatch: config.journal.maxBatch,
        maxWaitMs: config.journal.maxWaitMs,
        maxQueued: config.journal.maxQueued,
        onCommitted: (_requests, durationMs) => commitLatency.observeMs(durationMs),
      },
      ...(config.replication?.peerClockToleranceSeconds === undefined ? {} : { peerClockToleranceMs: config.replication.peerClockToleranceSeconds * 1_000 }),
    });
    // Peers' approvals survive a journal-writer restart in the replicas, not in this thread's memory.
    const shared = loadPeerApprovals(config, Date.now() - rules.perCard.windowMinutes * 60_000);
    standIn.recordPeerEntries(shared.approvals, shared.releases);
    let notifyReplicator: (() => void) | undefined;
    if (config.replication !== undefined) {
      const call = callsFrom(ctx);
      let pending = false;
      notifyReplicator = () => {
        if (pending) return;
        pending = true;
        // One message per turn, however many decisions the turn's commit carried.
        setImmediate(() => {
          pending = false;
          call('replicator', { type: 'notify' }, 1_000).catch(() => undefined);
        });
      };
    }
    if (shared.problem) ctx.log.warn({ problem: shared.problem }, "starting without peers' approvals; the replicator sends them as it receives them");
    return { journal, standIn, notifyReplicator, commitLatency };
  },
  async handle(message, _ctx, { journal, standIn, notifyReplicator, commitLatency }) {
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
  },
  async terminate(_ctx, state) {
    // Every accepted request gets its commit before the journal closes: nothing in flight is dropped.
    await state?.standIn.idle();
    state?.journal.close();
  },
});
