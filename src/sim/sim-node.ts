import type Database from 'better-sqlite3';
import type { KeyObject } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rules } from '../rules/rules.js';
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
import { Counters } from '../wire/counters.js';
import { peerEntriesMessage } from '../replication/peers/exposure-feed.js';
import type { KeyRing } from '../wire/keys.js';
import { silentLog } from '../platform/replication-log.js';
import { OutboxWatermark } from '../replication/outbox/outbox-watermark.js';
import { Publisher } from '../replication/outbox/publisher.js';
import { RepairAnswerer } from '../replication/repair/repair-answerer.js';
import { RepairPlanner } from '../replication/repair/repair-planner.js';
import { openReplicaDatabase, openWatermarkConnection } from '../replication/replicas/replica-db.js';
import { ReplicaStore } from '../replication/replicas/replica-store.js';
import { StatusReporter } from '../replication/peers/status.js';
import { StoredSessionFloor } from '../replication/peers/status-session.js';
import { Subscriber } from '../replication/replicas/subscriber.js';
import { StoreTopics } from '../wire/topics.js';
import { StandIn } from '../standin/stand-in.js';
import type { Outcome } from '../standin/outcome.js';
import { type CrashImage, installCrashImage, takeCrashImage } from './crash-image.js';
import type { SimNetwork } from './network.js';
import type { SimScheduler } from './scheduler.js';
import { PaymentOutcomes } from '../lanes/payment-outcomes.js';
import { type RunningLanes, type ShownResult, type SimLaneOptions, startSimLanes } from './sim-lane.js';
import { type TornFile, tearWrite } from './torn-write.js';

export interface SimNodeOptions {
  readonly id: string;
  readonly dir: string;
  readonly fleet: string;
  readonly store: string;
  readonly rules: Rules;
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
  readonly replicas: Database.Database;
  readonly watermark: Database.Database;
  readonly reader: JournalReader;
  readonly store: ReplicaStore;
  readonly publisher: Publisher;
  readonly subscriber: Subscriber;
  readonly status: StatusReporter;
  readonly uplink: Uplink;
  readonly lanes: RunningLanes | undefined;
  readonly outcomes: PaymentOutcomes;
  /** Fails whatever waits on this process when it dies: the POS's connection drops. */
  readonly died: () => void;
  readonly dead: Promise<never>;
}

/** The outbox is woken by each commit and by the node's tick: its own poll timer is kept out of simulated time. */
const NEVER_MS = 2 ** 31 - 1;
const REPAIR = { maxRangeEntries: 256, retryAfterMs: 1_000, lagGraceMs: 500 } as const;

/**
 * One store box in the simulation, built from the node's own parts: the journal and the
 * stand-in that decides (group commit included), and the replication and uplink parts the
 * node's actors host (outbox, subscriber, replica store, repair, status, uplink), wired as the
 * replicator and the uplink actor wire them, on the simulated broker and clock.
 */
export class SimNode {
  private running: Running | undefined;
  private draining = false;
  /** Bumped at every start: timers of a process that died never fire into the next one. */
  private incarnation = 0;
  /** An operator is rebuilding this box: it stays down until they are done. */
  private inRepair = false;
  readonly counters = new Counters();
  /** Every SHOW_RESULT this box's lanes asked their readers for, over all its processes: the simulation's view, not the node's memory. */
  readonly resultsShown: ShownResult[] = [];

  constructor(readonly options: SimNodeOptions) {}

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

  /** The lanes' record of payments that ended without a journal entry. */
  get paymentsPath(): string {
    return join(this.options.dir, 'payments.db');
  }

  /** Opens everything from disk, as a process start does: exposure rebuilt from the journal and the replicas. */
  start(): void {
    if (this.running !== undefined || this.inRepair) return;
    const { id, scheduler, network } = this.options;
    const clock = scheduler.clock;
    const topics = new StoreTopics(this.options.fleet, this.options.store);
    const { journal, standIn, replicas, store } = this.openDecider(this.journalPath, this.replicasPath);
    const watermark = openWatermarkConnection(this.replicasPath);
    const reader = new JournalReader(this.journalPath, id);
    let subscriber: Subscriber | undefined;
    const port = network.attach(id, [topics.everyNode('journal'), topics.everyNode('status'), topics.everyNode('repair'), topics.inbox(id)], (topic, payload) => {
      // As the replicator's inbox: one transaction per delivery, a bad message only rolls back itself.
      if (this.running?.replicas === replicas) replicas.transaction(() => subscriber?.handle(topic, payload))();
    });
    const log = silentLog;
    const publisher = new Publisher({
      nodeId: id,
      topic: topics.journal(id),
      journal: reader,
      watermark: new OutboxWatermark(watermark),
      port,
      signingKey: this.options.signingKey,
      inflightWindow: 256,
      pollIdleMs: NEVER_MS,
      inflightTimeoutMs: 5_000,
      clock,
      log,
    });
    const { signingKey } = this.options;
    const status = new StatusReporter({
      nodeId: id,
      topic: topics.status(id),
      port,
      clock,
      log,
      minIntervalMs: 250,
      heartbeatMs: 5_000,
      headSeq: () => publisher.stats().ackedSeq,
      signingKey,
      sessionFloor: new StoredSessionFloor(watermark),
    });
    const answerer = new RepairAnswerer({ nodeId: id, topics, journal: reader, store, port, signingKey, counters: this.counters, log, clock, maxAnswerEntries: REPAIR.maxRangeEntries, maxAnswersInFlight: 2_048 });
    subscriber = new Subscriber({
      ...{ nodeId: id, topics, keys: this.options.keys, store, answerer, planner: new RepairPlanner(REPAIR), port, counters: this.counters, clock, log, signingKey },
      onPeerOnline: () => status.refresh(),
      onOwnStatus: (own) => status.observeOwn(own),
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
    const incarnation = ++this.incarnation;
    const timers: Timers = {
      setTimeout: (callback, delayMs) => scheduler.timers.setTimeout(() => this.incarnation === incarnation && this.running !== undefined && callback(), delayMs),
      clearTimeout: (timer) => scheduler.timers.clearTimeout(timer),
    };
    const outcomes = new PaymentOutcomes(this.paymentsPath);
    const laneOptions = this.options.lanes ?? [];
    const lanes =
      laneOptions.length === 0 ? undefined : startSimLanes(laneOptions, { standIn, journal: reader, outcomes, clock, timers, decided: () => publisher.notify(), shown: (result) => this.resultsShown.push(result) });
    let died: () => void = () => undefined;
    const dead = new Promise<never>((_, reject) => {
      died = () => reject(new Error(`${id} died`));
    });
    dead.catch(() => undefined);
    this.running = { journal, standIn, replicas, watermark, reader, store, publisher, subscriber, status, uplink, lanes, outcomes, died, dead };
    publisher.start();
    status.announce();
  }

  /**
   * The journal and the stand-in deciding in it, with the store's offline approvals counted from
   * the replicas, as a process start opens them.
   */
  private openDecider(journalPath: string, replicasPath: string): { journal: Journal; standIn: StandIn; replicas: Database.Database; store: ReplicaStore } {
    const { id, scheduler } = this.options;
    const clock = scheduler.clock;
    const journal = Journal.open({ path: journalPath, nodeId: id, clock });
    const standIn = StandIn.open({ journal, rules: this.options.rules, clock, groupCommit: { maxWaitMs: 0 }, defer: (run, delayMs) => scheduler.after(delayMs, run) });
    const replicas = openReplicaDatabase(replicasPath, id);
    const store = new ReplicaStore(replicas, {
      onStored: (entries) => {
        const message = peerEntriesMessage(entries);
        standIn.recordPeerEntries(message.approvals, message.releases);
      },
      onConflict: () => this.counters.increment('conflict'),
    });
    const shared = store.approvalsSince(0);
    standIn.recordPeerEntries(shared.approvals, shared.releases);
    return { journal, standIn, replicas, store };
  }

  /**
   * The process is killed: nothing more runs, what it held in memory is gone, and its files are as
   * the kernel had them (the WAL not checkpointed away, as closing would).
   */
  crash(): void {
    const running = this.running;
    if (running === undefined) return;
    const image = takeCrashImage([this.journalPath, this.replicasPath, this.paymentsPath]);
    this.running = undefined;
    this.options.network.detach(this.id);
    running.publisher.stop();
    running.died();
    // The kernel closes its files, the readers' ports among them.
    for (const reader of running.lanes?.readers.values() ?? []) void reader.connection.stop();
    closeAll([running.reader, running.watermark, running.replicas, running.journal, running.outcomes]);
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
      closeAll([decider.replicas, decider.journal]);
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
    for (const file of [...sqliteFiles(this.journalPath), ...sqliteFiles(this.replicasPath), ...sqliteFiles(this.paymentsPath)]) rmSync(file, { force: true });
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
    const outcome = await running.standIn.authorize(request);
    // As the journal writer does after a commit: the outbox publishes now.
    if (this.running === running) running.publisher.notify();
    return outcome;
  }

  /** The node's periodic work: status, repair, the outbox's poll, and forwarding to the centre. */
  tick(): void {
    const running = this.running;
    if (running === undefined) return;
    running.status.tick();
    running.subscriber.tick();
    running.publisher.notify();
    if (this.draining) return;
    this.draining = true;
    running.uplink
      .drain()
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

  /** Replica heads by origin, for convergence. */
  replicaHead(origin: string): number {
    return this.running?.store.head(origin).seq ?? -1;
  }

  /** The latest entry of this node's own journal; null before its first (or while down). */
  lastEntry(): JournalEntry | null {
    const reader = this.running?.reader;
    const head = reader?.headSeq() ?? 0;
    return reader === undefined || head === 0 ? null : (reader.read(head, 1)[0] ?? null);
  }

  /** The origins this node keeps replicas of. */
  replicaOrigins(): string[] {
    return this.running?.store.origins() ?? [];
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
