// The worker-side module alone: the package index would load pino and prom-client into every actor thread.
import { runActor } from '../../actors/worker-runtime.js';
import { Journal } from '../../journal/journal.js';
import { LatencyBuckets } from '../../metrics/latency-buckets.js';
import { StandIn } from '../../standin/index.js';
import { journalPathOf } from '../../config/data-files.js';
import { loadRulesInForce } from '../../node/rules-source.js';
import { loadPeerApprovals } from '../../node/peer-approvals.js';
import { replicasPathOf } from '../../replication/config.js';
import { callsFrom } from '../../node/actor-directory.js';
import type { JournalWriterInit, JournalWriterReply, JournalWriterRequest } from '../../node/journal-writer-protocol.js';
import { type JournalWriterState, answerJournalWriter } from './journal-writer-requests.js';
import { coalescedNotify } from '../../node/coalesced-notify.js';

/*
 * The journal writer actor: owns the journal and the stand-in decisions, because a decision and
 * the entry that records it must be taken in one serial order. Many requests are in handle() at
 * once on purpose: they meet in the group commit, so one fsync covers them all.
 */
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
    const shared = loadPeerApprovals(config.replication === undefined ? undefined : replicasPathOf(config), Date.now() - rules.perCard.windowMinutes * 60_000);
    standIn.recordPeerEntries(shared.approvals, shared.releases);
    let notifyReplicator: (() => void) | undefined;
    if (config.replication !== undefined) {
      const call = callsFrom(ctx);
      notifyReplicator = coalescedNotify(() => void call('replicator', { type: 'notify' }, 1_000).catch(() => undefined));
    }
    if (shared.problem) ctx.log.warn({ problem: shared.problem }, "starting without peers' approvals; the replicator sends them as it receives them");
    return { journal, standIn, notifyReplicator, commitLatency };
  },
  handle: (message, _ctx, state) => answerJournalWriter(state, message),
  async terminate(_ctx, state) {
    // Every accepted request gets its commit before the journal closes: nothing in flight is dropped.
    await state?.standIn.idle();
    state?.journal.close();
  },
});
