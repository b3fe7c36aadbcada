import { resolve } from 'node:path';
import { ReplicationError } from '../wire/errors.js';
import { assertTopicId } from '../wire/topics.js';

/**
 * The `replication` section of the node configuration, exactly as the node config schema holds it.
 * File paths are used as given: the node config loader resolves them against the config file.
 */
export interface ReplicationConfig {
  readonly fleet: string;
  readonly store: string;
  /** e.g. mqtt://store-broker.local:1883 or mqtts://…:8883: the store's primary broker. */
  readonly brokerUrl: string;
  /**
   * The store's standby brokers (mqtt:// or mqtts://, the same scheme as brokerUrl), tried in this
   * order after the primary when a connection closes or cannot be made. They are bridged to the
   * primary (brokers/peer-bridge.conf.example) and take the same TLS files and credentials.
   */
  readonly standbyBrokerUrls?: readonly string[];
  /** On a standby, move back once the primary has answered every probe this long (default 30). */
  readonly failbackAfterSeconds?: number;
  /** Defaults to the node id: the broker ACL grants writes by username (`%u`). */
  readonly username?: string;
  /** A file holding the broker password (first line). */
  readonly passwordFile?: string;
  /** TLS (mqtts://): the CA the broker's certificate must chain to (the system store without it). */
  readonly caFile?: string;
  /** TLS: this node's client certificate (its common name is the node id) and its key. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** This node's Ed25519 private key, PKCS8 PEM. */
  readonly signingKeyFile: string;
  /** The other nodes of the store and their Ed25519 public keys (SPKI PEM). */
  readonly peers: readonly { readonly nodeId: string; readonly publicKeyFile: string }[];
  /** Own entries published and not yet acknowledged by the broker, at most. */
  readonly inflightWindow: number;
  /** Optional quorum acknowledgement of decisions (off unless enabled). */
  readonly quorum?: { readonly enabled: boolean; readonly timeoutMs: number };
  /** A peer silent this long is taken into custody by its rendezvous winner (default 10 minutes). */
  readonly custodyAfterSeconds?: number;
  /**
   * The operator's rules public key (Ed25519, SPKI PEM). With it the node takes signed rule and
   * hot-card updates from the store's rules topic; without it, it does not subscribe to them.
   */
  readonly rulesPublicKeyFile?: string;
}

/** Everything a Replicator needs: the section above plus what the node config knows elsewhere. */
export interface ReplicatorSettings extends ReplicationConfig {
  readonly nodeId: string;
  readonly dataDir: string;
  /** The node's own journal, read through a read-only connection of the replicator's own. */
  readonly journalPath: string;
}

/** Timing knobs with production defaults; tests shorten them. */
export interface ReplicatorTuning {
  readonly reconnectPeriodMs: number;
  readonly connectTimeoutMs: number;
  readonly keepaliveSeconds: number;
  readonly pollIdleMs: number;
  readonly inflightTimeoutMs: number;
  readonly statusMinIntervalMs: number;
  readonly statusHeartbeatMs: number;
  readonly repairTickMs: number;
  readonly repairRetryMs: number;
  readonly repairLagGraceMs: number;
  readonly maxRepairEntries: number;
  readonly maxAnswersInFlight: number;
  /** A peer silent this long is taken into custody by its rendezvous winner. */
  readonly custodyAfterMs: number;
  /** On a standby broker, how often the primary is probed for the move back. */
  readonly failbackProbeMs: number;
  /**
   * How often the rules subscription is renewed, which has the broker send its retained rules
   * again: a node that missed an update while connected (a broker drops QoS 1 messages beyond its
   * queue limits) still takes it, without waiting for its next reconnect.
   */
  readonly rulesRefreshMs: number;
}

export const DEFAULT_FAILBACK_AFTER_SECONDS = 30;

export const DEFAULT_TUNING: ReplicatorTuning = {
  reconnectPeriodMs: 1_000,
  connectTimeoutMs: 10_000,
  keepaliveSeconds: 15,
  pollIdleMs: 10,
  inflightTimeoutMs: 30_000,
  statusMinIntervalMs: 250,
  statusHeartbeatMs: 30_000,
  repairTickMs: 250,
  repairRetryMs: 1_000,
  repairLagGraceMs: 500,
  maxRepairEntries: 256,
  maxAnswersInFlight: 2_048,
  custodyAfterMs: 600_000,
  failbackProbeMs: 1_000,
  rulesRefreshMs: 600_000,
};

/** The most own entries in flight the window may allow: MQTT packet ids are 16 bits, shared with repair answers. */
export const MAX_INFLIGHT_WINDOW = 4_096;

export function replicasPathOf(settings: Pick<ReplicatorSettings, 'dataDir'>): string {
  return resolve(settings.dataDir, 'replicas.db');
}

/** Checks what the schema cannot see: ids usable as topic levels, no self among the peers, sane bounds. */
export function checkSettings(settings: ReplicatorSettings): void {
  assertTopicId('node', settings.nodeId);
  assertTopicId('fleet', settings.fleet);
  assertTopicId('store', settings.store);
  if (settings.peers.some((p) => p.nodeId === settings.nodeId)) {
    throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `peers: node ${JSON.stringify(settings.nodeId)} lists itself as a peer`, { nodeId: settings.nodeId });
  }
  if (!Number.isSafeInteger(settings.inflightWindow) || settings.inflightWindow < 1 || settings.inflightWindow > MAX_INFLIGHT_WINDOW) {
    throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `inflightWindow must be a whole number from 1 to ${MAX_INFLIGHT_WINDOW}, got ${settings.inflightWindow}`, {
      inflightWindow: settings.inflightWindow,
    });
  }
  if (!/^(mqtts?|tcp|ssl|wss?):\/\//.test(settings.brokerUrl)) {
    throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `brokerUrl ${JSON.stringify(settings.brokerUrl)} must be an mqtt://, mqtts://, ws:// or wss:// URL`, {
      brokerUrl: settings.brokerUrl,
    });
  }
}
