import type Database from 'better-sqlite3';
import { createPublicKey } from 'node:crypto';
import type { RulesConfig } from '../rules/rules.js';
import type { JournalEntry } from '../journal/entry.js';
import { type Clock, monotonicMs, systemClock } from '../platform/clock.js';
import { DEFAULT_TUNING, type ReplicatorSettings, type ReplicatorTuning, checkSettings, replicasPathOf } from './config.js';
import type { BrokerLinkStatus } from './broker/broker-failover.js';
import { CentreRelay, type CentreRelayTopics } from './broker/centre-relay.js';
import { type CounterSnapshot, Counters } from '../wire/counters.js';
import { ReplicationError } from '../wire/errors.js';
import { loadKeyRing, loadSigningKey } from '../wire/keys.js';
import { type ReplicationLog, silentLog } from '../platform/replication-log.js';
import { MqttSession } from './broker/mqtt-session.js';
import type { BrokerSession, InboundMessage } from './broker/session.js';
import { type Timers, systemTimers } from '../platform/timers.js';
import { OutboxWatermark } from './outbox/outbox-watermark.js';
import { JournalReader } from '../journal/journal-reader.js';
import { Publisher } from './outbox/publisher.js';
import { RepairAnswerer } from './repair/repair-answerer.js';
import type { RepairBudget } from './repair/repair-budget.js';
import { RepairPlanner } from './repair/repair-planner.js';
import type { SharedApprovals } from './replicas/replica-approvals.js';
import { openReplicaDatabase, openWatermarkConnection } from './replicas/replica-db.js';
import { ReplicaStore } from './replicas/replica-store.js';
import { AckAnnouncer } from './peers/ack-announcer.js';
import { QuorumTracker, type QuorumResult } from './peers/quorum.js';
import { Liveness } from './peers/liveness.js';
import { loadRulesPublicKey } from '../rules/keys.js';
import { type RulesCounterSnapshot, RulesReceiver, type RulesStatus, rulesCounterSnapshot } from '../rules/receiver.js';
import { distributedRulesPathOf } from '../rules/store.js';
import { StatusReporter } from './peers/status.js';
import { StoredSessionFloor } from './peers/status-session.js';
import { Subscriber } from './replicas/subscriber.js';
import { StoreTopics } from '../wire/topics.js';

export interface ReplicatorOptions {
  readonly settings: ReplicatorSettings;
  readonly tuning?: Partial<ReplicatorTuning>;
  readonly log?: ReplicationLog;
  /** Timers and status stamps; the journal's own clock is not needed here. */
  readonly clock?: Clock;
  /** Peers' entries just stored in the replicas, in order per origin. */
  readonly onPeerEntries?: (entries: readonly JournalEntry[]) => void;
  /** The version of the node's configured rules, at or below which distributed rules are stale (default 0). */
  readonly configuredRulesVersion?: number;
  /** Distributed rules just verified and persisted (needs `rulesPublicKeyFile` in the settings). */
  readonly onRules?: (rules: RulesConfig) => void;
  /** Repair answer bytes per requester; DEFAULT_REPAIR_BUDGET (repair-budget.ts) unless given. */
  readonly repairBudget?: RepairBudget;
  /** The centre link's traffic over this connection (centre-relay.ts); only with a centre reached over MQTT. */
  readonly centre?: CentreRelayTopics;
  /** The session with the store's broker; over mqtt.js to the configured brokers by default (MqttSession). */
  readonly session?: BrokerSession;
  /** The periodic repair and status tick and the quorum waits; the machine's timers by default. */
  readonly timers?: Timers;
  /** Where messages refused, stored and repaired are counted; a set of this replicator's own by default. */
  readonly counters?: Counters;
}

export interface OriginStatus {
  readonly origin: string;
  readonly headSeq: number;
  readonly headHash: string;
  /** The head the origin last announced; null before its first status arrived. */
  readonly announcedSeq: number | null;
  /** Entries announced and not yet held here. */
  readonly lag: number;
  readonly online: boolean | null;
}

export interface ReplicatorStatus {
  readonly nodeId: string;
  readonly connected: boolean;
  /** Which of the store's brokers the link is on (or dialling), and how often it moved. */
  readonly broker: BrokerLinkStatus;
  readonly outbox: {
    readonly ackedSeq: number;
    readonly journalHeadSeq: number;
    readonly lag: number;
    readonly inflight: number;
    /** Own entries published since start, and the messages (single entries or runs) that carried them. */
    readonly published: number;
    readonly messages: number;
  };
  readonly origins: OriginStatus[];
  readonly pending: number;
  readonly counters: CounterSnapshot & RulesCounterSnapshot;
  /** Distributed rules; null when the node has no rules public key. */
  readonly rules: RulesStatus | null;
  /**
   * Silent peers (nothing heard for custodyAfterMs) whose journals this node holds in custody: it is
   * their rendezvous winner among the live peers, so it forwards their replicated entries to the
   * centre on their behalf.
   */
  readonly custody: string[];
}

/** How long a clean stop waits for the goodbye status and the client's last acknowledgements. */
const STOP_GRACE_MS = 1_000;
/** Most messages committed in one replica transaction; a longer burst is split. */
const MAX_BATCH_MESSAGES = 1_024;

/**
 * A node's replication: its outbox publishing its own journal, its subscriber keeping replicas of
 * its peers, its status, all around one broker session that reconnects on its own. Nothing here
 * is on the authorization path: the journal is only read, through a connection of its own, and a
 * broker that is away only delays copies.
 */
export class Replicator {
  private readonly counters: Counters;
  private readonly tuning: ReplicatorTuning;
  private readonly log: ReplicationLog;
  private readonly db: Database.Database;
  /** The same file, for the outbox watermark only (see openWatermarkConnection). */
  private readonly watermarkDb: Database.Database;
  private readonly journal: JournalReader;
  private readonly store: ReplicaStore;
  private readonly publisher: Publisher;
  private readonly subscriber: Subscriber;
  private readonly statusReporter: StatusReporter;
  private readonly session: BrokerSession;
  private readonly timers: Timers;
  private tickTimer: unknown;
  private readonly quorum: QuorumTracker;
  /** Journal traffic received and not yet committed (see openSession). */
  private readonly inbox: InboundMessage[] = [];
  private drainScheduled = false;
  private rulesTopic = '';
  private readonly liveness: Liveness;
  private readonly clock: Clock;
  private readonly acks: AckAnnouncer;
  private readonly rules: RulesReceiver | undefined;
  private readonly centreRelay: CentreRelay | undefined;
  private readonly settings: ReplicatorSettings;
  private stopped = false;
  private linkTrouble = false;
  /** When the rules subscription was last made or renewed (monotonic ms). */
  private rulesSubscribedAtMs = 0;

  private constructor(options: ReplicatorOptions) {
    const { settings } = options;
    checkSettings(settings);
    this.settings = settings;
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.log = options.log ?? silentLog;
    const clock = options.clock ?? systemClock;
    const signingKey = loadSigningKey(settings.signingKeyFile);
    // Its own key too: its own entries coming back (misplaced or relayed) must verify to be recognised.
    const keys = new Map([...loadKeyRing(settings.peers), [settings.nodeId, createPublicKey(signingKey)]]);
    const topics = new StoreTopics(settings.fleet, settings.store);
    this.rulesTopic = topics.rules();
    this.clock = clock;
    this.liveness = new Liveness(
      settings.nodeId,
      settings.peers.map((p) => p.nodeId),
      clock.wallMs(),
    );
    this.rules = rulesReceiverOf(options, this.log);
    this.timers = options.timers ?? systemTimers;
    this.counters = options.counters ?? new Counters();
    this.quorum = new QuorumTracker(undefined, this.timers);
    // Unconnected until open() below, once the will (which needs the outbox's head) is known.
    this.session = options.session ?? new MqttSession(settings, this.tuning, this.log, clock);
    const port = this.session.port;
    this.centreRelay = options.centre === undefined ? undefined : new CentreRelay({ ...options.centre, port, log: this.log });
    this.db = openReplicaDatabase(replicasPathOf(settings), settings.nodeId);
    try {
      this.watermarkDb = openWatermarkConnection(replicasPathOf(settings));
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.journal = new JournalReader(settings.journalPath, settings.nodeId);
    try {
      this.store = new ReplicaStore(this.db, {
        onStored: (entries) => {
          options.onPeerEntries?.(entries);
          this.acks.holding(entries);
        },
        onConflict: (conflict) => {
          this.counters.increment('conflict');
          this.log.error({ reason: 'conflict', ...conflict }, 'a signed entry disagrees with the replica chain: fork or stolen key');
        },
      });
      this.publisher = new Publisher({
        nodeId: settings.nodeId,
        topic: topics.journal(settings.nodeId),
        journal: this.journal,
        watermark: new OutboxWatermark(this.watermarkDb),
        port,
        signingKey,
        inflightWindow: settings.inflightWindow,
        pollIdleMs: this.tuning.pollIdleMs,
        inflightTimeoutMs: this.tuning.inflightTimeoutMs,
        clock,
        log: this.log,
        onAcked: () => this.statusReporter.tick(),
      });
      this.statusReporter = new StatusReporter({
        nodeId: settings.nodeId,
        topic: topics.status(settings.nodeId),
        port,
        clock,
        log: this.log,
        minIntervalMs: this.tuning.statusMinIntervalMs,
        heartbeatMs: this.tuning.statusHeartbeatMs,
        headSeq: () => this.publisher.stats().ackedSeq,
        signingKey,
        // On the watermark's connection: written outside the replica batches, at each connect.
        sessionFloor: new StoredSessionFloor(this.watermarkDb),
      });
      const answerer = new RepairAnswerer({
        nodeId: settings.nodeId,
        topics,
        journal: this.journal,
        store: this.store,
        port,
        signingKey,
        counters: this.counters,
        log: this.log,
        clock,
        ...(options.repairBudget === undefined ? {} : { budget: options.repairBudget }),
        maxAnswerEntries: this.tuning.maxRepairEntries,
        maxAnswersInFlight: this.tuning.maxAnswersInFlight,
      });
      this.subscriber = new Subscriber({
        nodeId: settings.nodeId,
        topics,
        keys,
        store: this.store,
        answerer,
        planner: new RepairPlanner({ maxRangeEntries: this.tuning.maxRepairEntries, retryAfterMs: this.tuning.repairRetryMs, lagGraceMs: this.tuning.repairLagGraceMs }),
        port,
        counters: this.counters,
        clock,
        log: this.log,
        signingKey,
        onAck: (peer, seq) => this.quorum.recordAck(peer, seq),
        onHeard: (peer, atMs) => this.liveness.heard(peer, atMs),
        onPeerOnline: () => this.statusReporter.refresh(),
        onOwnStatus: (status) => this.statusReporter.observeOwn(status),
        ...(this.rules === undefined ? {} : { rules: this.rules }),
      });
      this.acks = new AckAnnouncer({ nodeId: settings.nodeId, topic: topics.ack(settings.nodeId), port, signingKey, clock, log: this.log });
    } catch (error) {
      this.journal.close();
      this.watermarkDb.close();
      this.db.close();
      throw error;
    }
    this.openSession();
    this.publisher.start();
    this.scheduleTick();
  }

  /** The repair and status tick, every repairTickMs until stopped. */
  private scheduleTick(): void {
    const timer = this.timers.setTimeout(() => {
      if (this.stopped) return;
      this.subscriber.tick();
      this.statusReporter.tick();
      this.refreshRules();
      this.scheduleTick();
    }, this.tuning.repairTickMs);
    (timer as { unref?: () => void }).unref?.();
    this.tickTimer = timer;
  }

  /** Opens replicas.db and starts connecting; returns at once, also with the broker unreachable. */
  static start(options: ReplicatorOptions): Replicator {
    return new Replicator(options);
  }

  /** The journal has new rows: publish now rather than at the next poll. */
  notify(): void {
    this.publisher.notify();
  }

  /**
   * Waits until more than half of the reachable peers (online by their retained status) hold this
   * node's entry `seq`, or `timeoutMs`; then the decision goes out local-only and is counted.
   */
  async awaitQuorum(seq: number, timeoutMs: number): Promise<QuorumResult> {
    this.assertRunning();
    this.publisher.notify();
    const statuses = this.subscriber.peerStatuses();
    const reachable = this.settings.peers.map((p) => p.nodeId).filter((peer) => statuses.get(peer)?.online === true);
    const result = await this.quorum.wait(seq, reachable, timeoutMs);
    this.counters.increment(result.reached ? 'quorum_reached' : 'quorum_local_only');
    if (!result.reached) this.log.warn({ seq, ...result }, 'quorum not reached in time: decision returned local-only');
    return result;
  }

  /** The centre link's requests and answers on this connection; throws without a centre over MQTT. */
  get centre(): CentreRelay {
    this.assertRunning();
    if (this.centreRelay === undefined) throw new ReplicationError('EDGEPAY_REPLICATION_NOT_CONFIGURED', 'this node reaches no centre over MQTT', { nodeId: this.settings.nodeId });
    return this.centreRelay;
  }

  /** The peers' replicas, for reading (verify, range, heads). */
  get replicas(): ReplicaStore {
    this.assertRunning();
    return this.store;
  }

  status(): ReplicatorStatus {
    this.assertRunning();
    const outbox = this.publisher.stats();
    const journalHeadSeq = this.journal.headSeq();
    const announced = this.subscriber.peerStatuses();
    const rules = this.rules?.status() ?? null;
    const names = new Set([...this.store.origins(), ...announced.keys()]);
    const origins = [...names].sort().map((origin) => {
      const head = this.store.head(origin);
      const status = announced.get(origin);
      return {
        origin,
        headSeq: head.seq,
        headHash: head.hash,
        announcedSeq: status?.headSeq ?? null,
        lag: Math.max(0, (status?.headSeq ?? 0) - head.seq),
        online: status?.online ?? null,
      };
    });
    return {
      nodeId: this.journal.nodeId,
      connected: this.session.port.connected,
      broker: this.session.status(),
      outbox: { ...outbox, journalHeadSeq, lag: Math.max(0, journalHeadSeq - outbox.ackedSeq) },
      origins,
      pending: this.store.pendingCount,
      custody: this.liveness.custody(this.clock.wallMs(), this.tuning.custodyAfterMs),
      counters: { ...this.counters.snapshot(), ...(rules?.counters ?? rulesCounterSnapshot(() => 0)) },
      rules,
    };
  }

  approvalsSince(wallMs: number): SharedApprovals {
    this.assertRunning();
    return this.store.approvalsSince(wallMs);
  }

  /** Says goodbye (offline status), lets in-flight acknowledgements land, persists the watermark, closes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    // What was acknowledged to the broker is committed before the replicas close.
    this.drainInbox();
    this.stopped = true;
    this.centreRelay?.close();
    this.timers.clearTimeout(this.tickTimer);
    this.publisher.stop();
    this.quorum.close();
    await this.statusReporter.goodbye(STOP_GRACE_MS);
    await this.session.close(STOP_GRACE_MS);
    this.publisher.close();
    this.journal.close();
    // The main connection last: closing the last connection checkpoints, which makes the watermark durable.
    this.watermarkDb.close();
    this.db.close();
  }

  /**
   * Ends as a killed process does: no goodbye, no last acknowledgements, nothing more sent; the
   * session is the owner's to drop (the broker then publishes the will). The files are closed as
   * the kernel closes them; what was not committed is fetched again by repair after the next start.
   */
  abandon(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.inbox.length = 0;
    this.centreRelay?.close();
    this.timers.clearTimeout(this.tickTimer);
    this.publisher.stop();
    this.quorum.close();
    this.publisher.close();
    this.journal.close();
    this.watermarkDb.close();
    this.db.close();
  }

  /** Renews the rules subscription every rulesRefreshMs while connected: the broker then sends its retained rules again. */
  private refreshRules(): void {
    if (this.rules === undefined || !this.session.port.connected) return;
    const nowMs = monotonicMs(this.clock);
    if (nowMs - this.rulesSubscribedAtMs < this.tuning.rulesRefreshMs) return;
    this.rulesSubscribedAtMs = nowMs;
    this.session.subscribe([this.rulesTopic]).catch((error: unknown) => this.log.debug({ err: error }, 'rules subscription not renewed; tried again later'));
  }

  private openSession(): void {
    // mqtt.js hands over the next message only after `done`, so waiting for a commit per message
    // would cost an fsync per entry. Journal traffic is acknowledged at once and committed in
    // batches, one transaction per turn of the event loop; a batch lost to a crash before its
    // commit is fetched again by repair (the origin keeps its journal, status heads show the gap).
    // Quorum acks go out only after the commit. Rules messages keep the strict order: persisted,
    // then acknowledged.
    this.session.open(this.statusReporter.will(), {
      message: (message, done) => this.receive(message, done),
      connect: (sessionPresent) => {
        this.linkTrouble = false;
        this.log.info({ sessionPresent }, 'connected to the broker');
        const filters = [...this.subscriber.filters(), ...(this.centreRelay === undefined ? [] : [this.centreRelay.answerTopic])];
        this.rulesSubscribedAtMs = monotonicMs(this.clock);
        this.session.subscribe(filters).then(
          (refused) => {
            // Online only once subscribed: peers answer a newcomer's status with theirs, which it must hear.
            this.statusReporter.announce();
            if (refused.length > 0) this.log.error({ refused }, 'the broker refused subscriptions: check the ACL');
          },
          (error: unknown) => {
            this.statusReporter.announce();
            this.log.warn({ err: error }, 'subscribe failed; retrying on the next connect');
          },
        );
        this.publisher.onConnect();
        this.subscriber.tick();
      },
      // The will carries the head: refresh it before each attempt so a later offline status is not older than needed.
      reconnecting: () => this.session.setWill(this.statusReporter.will()),
      closed: () => {
        if (!this.stopped) this.log.debug({}, 'broker connection closed');
      },
      error: (error) => {
        // While the broker is away every attempt fails the same way: say it once per outage.
        const level = this.linkTrouble ? 'debug' : 'warn';
        this.linkTrouble = true;
        this.log[level]({ err: error }, 'broker link error; the client keeps reconnecting');
      },
    });
  }

  private receive(message: InboundMessage, done: (error?: Error) => void): void {
    if (this.stopped) return done(new Error('replicator stopped'));
    const { topic, payload } = message;
    // The centre's answers are the uplink's, not replication traffic: handed on, never stored here.
    if (this.centreRelay !== undefined && topic === this.centreRelay.answerTopic) {
      this.centreRelay.receive(payload);
      return done();
    }
    if (topic === this.rulesTopic) {
      try {
        this.subscriber.handle(topic, payload);
        done();
      } catch (error) {
        this.log.error({ err: error, topic }, 'cannot process a rules message; leaving it unacknowledged');
        done(error as Error);
      }
      return;
    }
    this.inbox.push(message);
    if (this.inbox.length >= MAX_BATCH_MESSAGES) this.drainInbox();
    else if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drainInbox());
    }
    done();
  }

  private drainInbox(): void {
    this.drainScheduled = false;
    if (this.stopped || this.inbox.length === 0) return;
    const batch = this.inbox.splice(0);
    try {
      this.db.transaction(() => {
        for (const message of batch) {
          try {
            this.subscriber.handle(message.topic, message.payload, message.retained);
          } catch (error) {
            // One bad message rolls back to its own savepoint; the rest of the batch still commits.
            this.log.error({ err: error, topic: message.topic }, 'cannot process a message; repair will bring its entries again');
          }
        }
      })();
    } catch (error) {
      this.store.forgetCachedHeads();
      this.log.error({ err: error, messages: batch.length }, 'replica batch did not commit; repair will bring its entries again');
    }
  }

  private assertRunning(): void {
    if (this.stopped) throw new ReplicationError('EDGEPAY_REPLICATION_STOPPED', 'the replicator was stopped');
  }
}

function rulesReceiverOf(options: ReplicatorOptions, log: ReplicationLog): RulesReceiver | undefined {
  const { settings } = options;
  if (settings.rulesPublicKeyFile === undefined) return undefined;
  return new RulesReceiver({
    scope: { fleet: settings.fleet, store: settings.store },
    publicKey: loadRulesPublicKey(settings.rulesPublicKeyFile),
    file: distributedRulesPathOf(settings.dataDir),
    configuredVersion: options.configuredRulesVersion ?? 0,
    log,
    onAccepted: (rules) => options.onRules?.(rules),
  });
}
