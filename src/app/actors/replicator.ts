// The worker-side modules alone: the package indexes would load pino and prom-client into the thread.
import { runActor } from '../../actors/worker-runtime.js';
import { callsFrom } from '../../node/actor-directory.js';
import { journalPathOf } from '../../config/node-config.js';
import { loadRules } from '../../node/rules-source.js';
import { answerTopic, authorizeTopic, uplinkTopic } from '../../central/centre-topics.js';
import { MAX_WIRE_BYTES } from '../../central/centre-wire.js';
import type { CentreRelayTopics } from '../../replication/broker/centre-relay.js';
import type { ReplicatorSettings } from '../../replication/config.js';
import { ReplicationError } from '../../wire/errors.js';
import { ExposureFeed } from '../../replication/peers/exposure-feed.js';
import { Replicator } from '../../replication/replicator.js';
import { RulesPusher } from './rules-pusher.js';
import type { ReplicatorInit, ReplicatorNodeConfig, ReplicatorReply, ReplicatorRequest } from '../../replication/replicator-protocol.js';
import { answerReplicator } from './replicator-requests.js';

/*
 * The replicator actor: one mqtt.js client, replicas.db and a read-only view of the node's journal,
 * in a thread of its own so neither MQTT traffic nor signature checks ever delay a decision.
 * Requests are answered from memory and short reads, so they need no concurrency.
 */
interface ReplicatorState {
  readonly replicator: Replicator;
  readonly feed: ExposureFeed;
  readonly rulesPusher: RulesPusher;
}

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

runActor<ReplicatorRequest, ReplicatorReply, ReplicatorInit, ReplicatorState>({
  // Quorum waits overlap: many decisions wait for their acks at the same time.
  maxConcurrent: 4_096,
  init({ config, tuning }, ctx) {
    const call = callsFrom(ctx);
    const feed = new ExposureFeed(
      (message) => call('journal-writer', { type: 'peer-entries', ...message }, 5_000),
      (count) => ctx.log.warn({ count }, 'peer approvals dropped from the feed; the journal writer reloads them from the replicas on restart'),
    );
    const log = ctx.log.child({ actor: 'replicator' });
    const rulesPusher = new RulesPusher((rules) => call('journal-writer', { type: 'set-rules', rules }, 5_000), log);
    const centre = centreTopicsOf(config);
    const replicator = Replicator.start({
      settings: settingsOf(config),
      ...(centre === undefined ? {} : { centre }),
      log,
      onPeerEntries: (entries) => feed.add(entries),
      // The journal writer decides with the newer of these and the distributed rules; so does the receiver.
      configuredRulesVersion: config.replication?.rulesPublicKeyFile === undefined ? 0 : loadRules(config.rulesFile).version,
      onRules: (rules) => rulesPusher.push(rules),
      ...(tuning || config.replication?.custodyAfterSeconds !== undefined
        ? { tuning: { ...tuning, ...(config.replication?.custodyAfterSeconds === undefined ? {} : { custodyAfterMs: config.replication.custodyAfterSeconds * 1_000 }) } }
        : {}),
    });
    return { replicator, feed, rulesPusher };
  },
  handle: (request, _ctx, { replicator }) => answerReplicator(replicator, request),
  async terminate(_ctx, state) {
    state?.feed.stop();
    state?.rulesPusher.stop();
    await state?.replicator.stop();
  },
});
