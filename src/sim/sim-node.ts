import type { KeyObject } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJournal } from '../audit/store-checks.js';
import type { JournalEntry } from '../journal/entry.js';
import { sqliteFiles } from '../journal/files.js';
import { JournalReader } from '../journal/journal-reader.js';
import { Journal } from '../journal/journal.js';
import type { Payment, PaymentRequestBody } from '../lanes/payment.js';
import type { RandomSource } from '../platform/random.js';
import type { Timers } from '../platform/timers.js';
import type { CentreLink } from '../reconcile/uplink.js';
import { ownSignedReads } from '../reconcile/signed-reads.js';
import { Uplink } from '../reconcile/uplink.js';
import { type CustodyRound, custodyRound } from '../reconcile/custody-round.js';
import { Counters } from '../wire/counters.js';
import type { RulesConfig } from '../rules/rules.js';
import { ExposureFeed } from '../replication/peers/exposure-feed.js';
import { coalescedNotify } from '../node/coalesced-notify.js';
import type { ReplicatorSettings, ReplicatorTuning } from '../replication/config.js';
import { Replicator } from '../replication/replicator.js';
import { loadPeerApprovals } from '../node/peer-approvals.js';
import { SimSession } from './sim-session.js';
import { loadRules, loadRulesInForce } from '../node/rules-source.js';
import { RulesPusher } from '../app/actors/rules-pusher.js';
import type { SetRulesResult } from '../node/journal-writer-protocol.js';
import { silentLog } from '../platform/replication-log.js';
import { ActorError } from '../actors/errors.js';
import { nodeActorCall } from '../node/actor-directory.js';
import { type DecisionPathOptions, decideDurably } from '../node/durable-decision.js';
import type { JournalWriterRequest } from '../node/journal-writer-protocol.js';
import type { ReplicatorRequest } from '../replication/replicator-protocol.js';
import type { AuthorizationRequest } from '../standin/requests.js';
import { LatencyBuckets } from '../metrics/latency-buckets.js';
import { type JournalWriterState, answerJournalWriter } from '../app/actors/journal-writer-requests.js';
import { answerReplicator } from '../app/actors/replicator-requests.js';
import type { KeyRing } from '../wire/keys.js';
import { StandIn } from '../standin/stand-in.js';
import type { Outcome } from '../standin/outcome.js';
import { type CrashImage, installCrashImage, takeCrashImage } from './crash-image.js';
import type { SimNetwork } from './network.js';
import type { SimScheduler } from './scheduler.js';
import { PaymentOutcomes } from '../lanes/payment-outcomes.js';
import { type RunningLanes, type ShownResult, type SimLaneOptions, startSimLanes } from './sim-lane.js';
import { type TornFile, tearWrite } from './torn-write.js';

/** A result a lane asked its reader to show, with the number of the box's disk it was on. */
export interface DiskShownResult extends ShownResult {
  readonly disk: number;
}

export interface SimNodeOptions {
  readonly id: string;
  readonly dir: string;
  readonly fleet: string;
  readonly store: string;
  /** The rules the box is configured with (its rules file), and the key distributed rules must verify with. */
  readonly rules: RulesConfig;
  readonly rulesPublicKey: KeyObject;
  readonly signingKey: KeyObject;
  /** Every node's public key, this node's own included. */
  readonly keys: KeyRing;
  readonly scheduler: SimScheduler;
  readonly network: SimNetwork;
  readonly centre: CentreLink;
  /** The box's lanes, each with its card reader on its own line; without any, the POS hands the node captured cards. */
  readonly lanes?: readonly SimLaneOptions[];
}

/** The parts of a running node; all of it is dropped when the node crashes. */
interface Running {
  readonly journal: Journal;
  readonly standIn: StandIn;
  /** The durable decision path: the journal writer, then quorum acknowledgement from the peers. */
  readonly decide: (request: AuthorizationRequest) => Promise<Outcome>;
  readonly reader: JournalReader;
  /** The node's own replicator, on the simulated broker and clock. */
  readonly replicator: Replicator;
  readonly rulesPusher: RulesPusher;
  /** Peers' approvals on their way from the replicator to the journal writer. */
  readonly feed: ExposureFeed;
  readonly session: SimSession;
  readonly uplink: Uplink;
  /** Silent peers' replicated journals to the centre, on their behalf (the uplink actor's custody rounds). */
  readonly custody: CustodyRound;
  readonly lanes: RunningLanes | undefined;
  readonly outcomes: PaymentOutcomes;
  /** Fails whatever waits on this process when it dies: the POS's connection drops. */
  readonly died: () => void;
  readonly dead: Promise<never>;
}

/** The outbox is woken by each commit and by the node's tick: its own poll timer is kept out of simulated time. */
const NEVER_MS = 2 ** 31 - 1;
/**
 * The decision path as a node configured with quorum acknowledgement takes it: every decision
 * waits up to half a second for a majority of the reachable peers to hold it, or goes out
 * local-only; online authorization stays off (the simulated centre link forwards batches only).
 */
const DECISION_PATH: DecisionPathOptions = { requestTimeoutMs: 5_000, quorumTimeoutMs: 500, online: undefined };
/** The replicator's timing in the simulation: production's, with heartbeats and in-flight timeouts shorter for a minute's trading. */
const SIM_TUNING: Partial<ReplicatorTuning> = {
  reconnectPeriodMs: 1_000,
  pollIdleMs: NEVER_MS,
  inflightTimeoutMs: 5_000,
  statusMinIntervalMs: 250,
  statusHeartbeatMs: 5_000,
  repairTickMs: 250,
  // Three heartbeats without a word: long enough that an idle box is not taken for dead, short
  // enough that a box crashed or cut off for a while has its journal forwarded by a custodian.
  custodyAfterMs: 15_000,
  // Production renews every 10 minutes; a minute's trading needs it sooner to be seen at all.
  rulesRefreshMs: 10_000,
  repairRetryMs: 1_000,
  repairLagGraceMs: 500,
  maxRepairEntries: 256,
  maxAnswersInFlight: 2_048,
};

/**
 * One store box in the simulation, built from the node's own parts: the journal and the
 * stand-in answering as the journal-writer actor does, the durable decision path with quorum
 * acknowledgement, the node's own Replicator on a session with the simulated broker, the uplink
 * and the custody rounds as the uplink actor runs them, all on the simulated clock and timers.
 */
export class SimNode {
  private running: Running | undefined;
  private draining = false;
  /** Bumped at every start: timers of a process that died never fire into the next one. */
  private incarnation = 0;
  /** An operator is rebuilding this box: it stays down until they are done. */
  private inRepair = false;
  readonly counters = new Counters();
  /** Entries of silent peers this box forwarded to the centre on their behalf, over all its processes. */
  custodyForwarded = 0;
  /** Every SHOW_RESULT this box's lanes asked their readers for, over all its processes: the simulation's view, not the node's memory. */
  readonly resultsShown: DiskShownResult[] = [];
  /** For each of the box's disks that died, in order, the keys its journal held an entry for then. */
  readonly deadDisks: ReadonlySet<string>[] = [];

  /** The box's configuration files, written once as its installer leaves them: they outlive its disks' data. */
  private readonly files: BoxFiles;

  constructor(readonly options: SimNodeOptions) {
    this.files = writeBoxFiles(options);
  }

  get id(): string {
    return this.options.id;
  }

  get up(): boolean {
    return this.running !== undefined;
  }

  /** The ids of the box's lanes, in the order configured. */
  get laneIds(): readonly string[] {
    return (this.options.lanes ?? []).map((lane) => lane.id);
  }

  get journalPath(): string {
    return join(this.options.dir, 'journal.db');
  }

  get replicasPath(): string {
    return join(this.options.dir, 'replicas.db');
  }

  /** What the centre said about the entries this box forwarded for silent peers. */
  get custodyPath(): string {
    return join(this.options.dir, 'custody.db');
  }

  /** The lanes' record of payments that ended without a journal entry. */
  get paymentsPath(): string {
    return join(this.options.dir, 'payments.db');
  }

  /** Opens everything from disk, as a process start does: exposure rebuilt from the journal and the replicas. */
  start(): void {
    if (this.running !== undefined || this.inRepair) return;
    const { id, scheduler, network } = this.options;
    const clock = scheduler.clock;
    const { journal, standIn } = this.openDecider(this.journalPath, this.replicasPath);
    const reader = new JournalReader(this.journalPath, id);
    const incarnation = ++this.incarnation;
    const timers: Timers = {
      setTimeout: (callback, delayMs) => scheduler.timers.setTimeout(() => this.incarnation === incarnation && this.running !== undefined && callback(), delayMs),
      clearTimeout: (timer) => scheduler.timers.clearTimeout(timer),
    };
    const session = new SimSession(id, network, scheduler, SIM_TUNING.reconnectPeriodMs!);
    const replicator = Replicator.start({
      settings: this.replicatorSettings(),
      tuning: SIM_TUNING,
      clock,
      timers,
      session,
      counters: this.counters,
      configuredRulesVersion: loadRules(this.files.rulesFile).version,
      // As the replicator actor hands them on: accepted rules to the journal writer, newest first.
      onRules: (rules) => rulesPusher.push(rules),
      // Through the replicator actor's exposure feed to the journal writer: peers' approvals count in this node's card windows.
      onPeerEntries: (entries) => feed.add(entries),
    });
    const uplink = new Uplink({
      origin: id,
      store: this.options.store,
      journal: {
        headSeq: () => reader.headSeq(),
        read: ownSignedReads((from, limit) => reader.read(from, limit), this.options.signingKey),
        firstUnforwardedSeq: () => reader.firstUnforwardedSeq(),
        record: async (outcomes) => standIn.recordForwarded(outcomes),
      },
      centre: this.options.centre,
      batchSize: 50,
    });
    const rulesPusher = new RulesPusher((rules) => answerJournalWriter(journalWriter, { type: 'set-rules', rules }) as Promise<SetRulesResult>, silentLog);
    const journalWriter: JournalWriterState = {
      journal,
      standIn,
      notifyReplicator: coalescedNotify(
        () => void call('replicator', { type: 'notify' }, 1_000).catch(() => undefined),
        (run) => timers.setTimeout(run, 0),
      ),
      commitLatency: new LatencyBuckets(),
    };
    // The node's actors, in process: the decision path calls the journal writer and the replicator as the runtime's threads do.
    const call = nodeActorCall(async (actorId, request) => {
      if (actorId === 'journal-writer') return answerJournalWriter(journalWriter, request as JournalWriterRequest);
      if (actorId === 'replicator') return answerReplicator(replicator, request as ReplicatorRequest);
      throw new ActorError('EDGEPAY_ACTOR_UNAVAILABLE', `${actorId} does not run in the simulation`, { actor: actorId });
    });
    const feed = new ExposureFeed((message) => call('journal-writer', { type: 'peer-entries', ...message }, 5_000), undefined, timers);
    const decide = (request: AuthorizationRequest): Promise<Outcome> => decideDurably(call, { type: 'authorize', request }, DECISION_PATH);
    const custody = custodyRound({
      self: id,
      store: this.options.store,
      replicasPath: this.replicasPath,
      marksPath: this.custodyPath,
      centre: this.options.centre,
      batchSize: 50,
      custody: async () => replicator.status().custody,
      forwarded: (_origin, entries) => {
        this.custodyForwarded += entries;
      },
    });
    const outcomes = new PaymentOutcomes(this.paymentsPath);
    const laneOptions = this.options.lanes ?? [];
    const lanes = laneOptions.length === 0 ? undefined : startSimLanes(laneOptions, { decide, journal: reader, outcomes, clock, timers, shown: (result) => this.resultsShown.push({ ...result, disk: this.disk }) });
    let died: () => void = () => undefined;
    const dead = new Promise<never>((_, reject) => {
      died = () => reject(new Error(`${id} died`));
    });
    dead.catch(() => undefined);
    this.running = { journal, standIn, decide, reader, replicator, rulesPusher, feed, session, uplink, custody, lanes, outcomes, died, dead };
  }

  /** The replication section of this box's configuration, on the simulated broker. */
  private replicatorSettings(): ReplicatorSettings {
    const { id, dir, fleet, store } = this.options;
    const { signingKeyFile, peers, rulesPublicKeyFile } = this.files;
    return { nodeId: id, dataDir: dir, journalPath: this.journalPath, fleet, store, brokerUrl: 'mqtt://sim-broker:1883', signingKeyFile, peers, inflightWindow: 256, rulesPublicKeyFile };
  }

  /**
   * The journal and the stand-in deciding in it, with the store's offline approvals counted from
   * the replicas, as the journal writer opens them at a process start.
   */
  private openDecider(journalPath: string, replicasPath: string): { journal: Journal; standIn: StandIn } {
    const { id, scheduler, fleet, store, dir } = this.options;
    const { rulesFile, rulesPublicKeyFile } = this.files;
    const clock = scheduler.clock;
    // As the journal writer starts: the newer of the configured rules and those distributed to the box.
    const inForce = loadRulesInForce({ rulesFile, dataDir: dir, replication: { fleet, store, rulesPublicKeyFile } });
    if (inForce.problem !== undefined) throw new Error(inForce.problem);
    const rules = inForce.rules;
    const journal = Journal.open({ path: journalPath, nodeId: id, clock });
    const standIn = StandIn.open({ journal, rules, clock, groupCommit: { maxWaitMs: 0 }, defer: (run, delayMs) => scheduler.after(delayMs, run) });
    const shared = loadPeerApprovals(replicasPath, clock.wallMs() - rules.perCard.windowMinutes * 60_000);
    if (shared.problem !== undefined) throw new Error(shared.problem);
    standIn.recordPeerEntries(shared.approvals, shared.releases);
    return { journal, standIn };
  }

  /**
   * The process is killed: nothing more runs, what it held in memory is gone, and its files are as
   * the kernel had them (the WAL not checkpointed away, as closing would).
   */
  crash(): void {
    const running = this.running;
    if (running === undefined) return;
    const image = takeCrashImage([this.journalPath, this.replicasPath, this.paymentsPath, this.custodyPath]);
    this.running = undefined;
    running.session.drop();
    running.replicator.abandon();
    running.rulesPusher.stop();
    running.feed.stop();
    running.died();
    // The kernel closes its files, the readers' ports among them.
    for (const reader of running.lanes?.readers.values() ?? []) void reader.connection.stop();
    closeAll([running.reader, running.journal, running.outcomes, running.custody]);
    installCrashImage(image);
  }

  /**
   * Power fails while the journal is writing a payment: the node dies holding it, and the write
   * reaches the disk in part (some sectors of the WAL, in any combination) or whole. The write is
   * the one this box would make: the same request decided by the real stand-in from a copy of
   * the files as the crash left them. Nothing was acknowledged, so SQLite must drop a part-written
   * commit on the next start; a whole one is a decision the POS learns when it asks again.
   */
  async crashTearing(request: Record<string, unknown>, random: RandomSource): Promise<TornFile | undefined> {
    if (this.running === undefined) return undefined;
    this.crash();
    const scratch = join(this.options.dir, 'torn-write');
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch);
    const journalCopy = join(scratch, 'journal.db');
    const replicasCopy = join(scratch, 'replicas.db');
    for (const [from, to] of [
      [this.journalPath, journalCopy],
      [this.replicasPath, replicasCopy],
    ] as const) {
      sqliteFiles(from).forEach((file, i) => {
        if (existsSync(file)) copyFileSync(file, sqliteFiles(to)[i]!);
      });
    }
    const before = takeCrashImage([journalCopy]);
    const decider = this.openDecider(journalCopy, replicasCopy);
    let after: CrashImage;
    try {
      await decider.standIn.authorize(request).catch(() => undefined);
      after = takeCrashImage([journalCopy]);
    } finally {
      closeAll([decider.journal]);
    }
    const wal = `${journalCopy}-wal`;
    // Only the WAL is torn: a checkpoint into the database file comes after the commit's fsync.
    const torn = tearWrite(before.get(wal) ?? null, after.get(wal) ?? Buffer.alloc(0), random);
    writeFileSync(`${this.journalPath}-wal`, torn.bytes);
    rmSync(scratch, { recursive: true, force: true });
    return torn;
  }

  /**
   * The box's disk dies: the process is gone and so are its journal and replicas. The box stays
   * down, whatever else would start it, until the operator's `repaired` puts it back.
   */
  loseDisk(): void {
    this.crash();
    this.inRepair = true;
    this.deadDisks.push(new Set(existsSync(this.journalPath) ? readJournal(this.journalPath, this.options.id).map((entry) => entry.idempotencyKey) : []));
    for (const file of [this.journalPath, this.replicasPath, this.paymentsPath, this.custodyPath].flatMap(sqliteFiles)) rmSync(file, { force: true });
  }

  /** The number of the box's live disk: how many have died before it. */
  get disk(): number {
    return this.deadDisks.length;
  }

  get underRepair(): boolean {
    return this.inRepair;
  }

  /** The operator is done with the box: it starts from what they installed. */
  repaired(): void {
    this.inRepair = false;
    this.start();
  }

  /**
   * A payment at one of the box's lanes, as the POS asks for it: the card read at that lane's
   * reader, the durable decision, the result shown. Undefined when the node is down; rejects if it
   * dies before answering, or with the lanes' error (key in use for another payment, no reader,
   * lane busy).
   */
  async payAtLane(body: PaymentRequestBody): Promise<Payment | undefined> {
    const running = this.running;
    if (running?.lanes === undefined) return undefined;
    const { payment } = await Promise.race([running.lanes.service.pay(body), running.dead]);
    return payment;
  }

  /** A payment at this node's lane; undefined when the node is down. */
  async pay(request: Record<string, unknown>): Promise<Outcome | undefined> {
    const running = this.running;
    if (running === undefined) return undefined;
    return running.decide(request as unknown as AuthorizationRequest);
  }

  /** The node's periodic work beside the replicator's own tick: the outbox's poll, and forwarding to the centre. */
  tick(): void {
    const running = this.running;
    if (running === undefined) return;
    running.replicator.notify();
    if (this.draining) return;
    this.draining = true;
    // As the uplink actor's rounds: this node's own journal, then the peers it holds in custody.
    running.uplink
      .drain()
      .catch(() => undefined)
      .then(() => (this.running === running ? running.custody.run() : undefined))
      .catch(() => undefined)
      .finally(() => {
        this.draining = false;
      });
  }

  /** Disk full: the journal may not grow past its current size until freed. */
  fillDisk(): void {
    const db = this.running?.journal.connection();
    if (db === undefined) return;
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  }

  freeDisk(): void {
    this.running?.journal.connection().pragma('max_page_count = 1073741823');
  }

  /** The version of the rules the box decides with now; null while it is down. */
  rulesVersion(): number | null {
    return this.running?.standIn.currentRules().version ?? null;
  }

  /** Replica heads by origin, for convergence. */
  replicaHead(origin: string): number {
    return this.running?.replicator.replicas.head(origin).seq ?? -1;
  }

  /** The latest entry of this node's own journal; null before its first (or while down). */
  lastEntry(): JournalEntry | null {
    const reader = this.running?.reader;
    const head = reader?.headSeq() ?? 0;
    return reader === undefined || head === 0 ? null : (reader.read(head, 1)[0] ?? null);
  }

  /** The origins this node keeps replicas of. */
  replicaOrigins(): string[] {
    return this.running?.replicator.replicas.origins() ?? [];
  }

  headSeq(): number {
    return this.running?.reader.headSeq() ?? -1;
  }

  stop(): void {
    this.crash();
  }
}

/** Closes what a dead process held; a kill does not close files tidily, so errors are nobody's to hear. */
function closeAll(handles: readonly { close(): unknown }[]): void {
  for (const handle of handles) {
    try {
      handle.close();
    } catch {
      // already closed, or failing: either way gone
    }
  }
}

interface BoxFiles {
  readonly signingKeyFile: string;
  readonly peers: readonly { readonly nodeId: string; readonly publicKeyFile: string }[];
  readonly rulesFile: string;
  readonly rulesPublicKeyFile: string;
}

/** The box's own signing key, its peers' public keys, its rules file and the rules public key, as files under config/. */
function writeBoxFiles(options: SimNodeOptions): BoxFiles {
  const { id, dir, keys, signingKey } = options;
  const configDir = join(dir, 'config');
  mkdirSync(configDir, { recursive: true });
  const signingKeyFile = join(configDir, `${id}.key`);
  writeFileSync(signingKeyFile, signingKey.export({ type: 'pkcs8', format: 'pem' }));
  const peers = [...keys]
    .filter(([peer]) => peer !== id)
    .map(([peer, publicKey]) => {
      const publicKeyFile = join(configDir, `${peer}.pub`);
      writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
      return { nodeId: peer, publicKeyFile };
    });
  const rulesFile = join(configDir, 'rules.json');
  writeFileSync(rulesFile, JSON.stringify(options.rules));
  const rulesPublicKeyFile = join(configDir, 'rules.pub');
  writeFileSync(rulesPublicKeyFile, options.rulesPublicKey.export({ type: 'spki', format: 'pem' }));
  return { signingKeyFile, peers, rulesFile, rulesPublicKeyFile };
}
