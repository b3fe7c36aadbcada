// The worker-side modules alone: the package indexes would load pino and prom-client into the thread.
import { runActor } from '../actors/worker-runtime.js';
import type { SetRulesResult } from '../node/actors/journal-writer-protocol.js';
import { journalPathOf } from '../node/config.js';
import { loadRules } from '../node/rules-source.js';
import { EdgepayError } from '../errors.js';
import { answerTopic, authorizeTopic, uplinkTopic } from '../central/centre-topics.js';
import { MAX_WIRE_BYTES } from '../central/centre-wire.js';
import type { CentreRelayTopics } from './centre-relay.js';
import type { ReplicatorSettings } from './config.js';
import { ReplicationError } from './errors.js';
import { ExposureFeed } from './exposure-feed.js';
import { Replicator } from './replicator.js';
import { RulesPusher } from './rules-pusher.js';
import type { ReplicatorInit, ReplicatorNodeConfig, ReplicatorReply, ReplicatorRequest } from './replicator-protocol.js';

/*
 * The replicator actor: one mqtt.js client, replicas.db and a read-only view of the node's journal,
 * in a thread of its own so neither MQTT traffic nor signature checks ever delay a decision.
 * Requests are answered from memory and short reads, so they need no concurrency.
 */
let replicator: Replicator | undefined;
let feed: ExposureFeed | undefined;
let rulesPusher: RulesPusher | undefined;

function settingsOf(config: ReplicatorNodeConfig): ReplicatorSettings {
  const replication = config.replication;
  if (replication === undefined) {
    throw new ReplicationError('EDGEPAY_REPLICATION_NOT_CONFIGURED', 'the node configuration has no `replication` section', { nodeId: config.nodeId });
  }
  return { ...replication, nodeId: config.nodeId, dataDir: config.dataDir, journalPath: journalPathOf(config) };
}

/**
 * With a centre reached over MQTT, its requests and answers use this connection: the node's one
 * session at the broker (centre-relay.ts). Its topics name the centre section's store.
 */
function centreTopicsOf(config: ReplicatorNodeConfig): CentreRelayTopics | undefined {
  const { centre, replication } = config;
  if (centre === undefined || centre.ledger !== undefined || replication === undefined) return undefined;
  const at = [replication.fleet, centre.store, config.nodeId] as const;
  return { answerTopic: answerTopic(...at), requestTopics: [uplinkTopic(...at), authorizeTopic(...at)], maxPayloadBytes: MAX_WIRE_BYTES };
}

function running(): Replicator {
  if (replicator === undefined) throw new ReplicationError('EDGEPAY_REPLICATION_STOPPED', 'replicator used before init');
  return replicator;
}

runActor<ReplicatorRequest, ReplicatorReply, ReplicatorInit>({
  // Quorum waits overlap: many decisions wait for their acks at the same time.
  maxConcurrent: 4_096,
  init({ config, tuning }, ctx) {
    const exposure = new ExposureFeed(
      (message) => ctx.call('journal-writer', { type: 'peer-entries', ...message }, { timeoutMs: 5_000 }),
      (count) => ctx.log.warn({ count }, 'peer approvals dropped from the feed; the journal writer reloads them from the replicas on restart'),
    );
    feed = exposure;
    const log = ctx.log.child({ actor: 'replicator' });
    const pusher = new RulesPusher((rules) => ctx.call<SetRulesResult>('journal-writer', { type: 'set-rules', rules }, { timeoutMs: 5_000 }), log);
    rulesPusher = pusher;
    const centre = centreTopicsOf(config);
    replicator = Replicator.start({
      settings: settingsOf(config),
      ...(centre === undefined ? {} : { centre }),
      log,
      onPeerEntries: (entries) => exposure.add(entries),
      // The journal writer decides with the newer of these and the distributed rules; so does the receiver.
      configuredRulesVersion: config.replication?.rulesPublicKeyFile === undefined ? 0 : loadRules(config.rulesFile).version,
      onRules: (rules) => pusher.push(rules),
      ...(tuning || config.replication?.custodyAfterSeconds !== undefined
        ? { tuning: { ...tuning, ...(config.replication?.custodyAfterSeconds === undefined ? {} : { custodyAfterMs: config.replication.custodyAfterSeconds * 1_000 }) } }
        : {}),
    });
  },
  handle(request) {
    switch (request.type) {
      case 'status':
        return running().status();
      case 'approvals-since':
        if (!Number.isSafeInteger(request.wallMs)) {
          throw new EdgepayError('EDGEPAY_BAD_INPUT', `wallMs must be a whole number of milliseconds, got ${String(request.wallMs)}`, { wallMs: request.wallMs });
        }
        return running().approvalsSince(request.wallMs);
      case 'notify':
        running().notify();
        return { notified: true };
      case 'await-quorum':
        return running().awaitQuorum(request.seq, request.timeoutMs);
      case 'centre-publish':
        return running().centre.publish(request.topic, request.payload).then(() => ({ published: true as const }));
      case 'centre-answers':
        return running().centre.take(request.waitMs);
    }
  },
  async terminate() {
    feed?.stop();
    rulesPusher?.stop();
    await replicator?.stop();
  },
});
