// The worker-side modules alone: the package indexes would load pino and prom-client into the thread.
import { join } from 'node:path';
import { runActor } from '../actors/worker-runtime.js';
import type { CardFacts } from '../card/card-facts.js';
import type { JournalEntry } from '../journal/entry.js';
import { Journal } from '../journal/journal.js';
import type { ReplicationLog, ReplicationLogFn } from '../platform/replication-log.js';
import { Replicator } from '../replication/replicator.js';
import { StandIn } from '../standin/stand-in.js';
import { BENCH_CURRENCY, benchRules } from './bench-rules.js';
import { ratePerSecond } from './latency.js';
import type { BoxEvents, BoxHeads, BoxInit, BoxLogTally, BoxPacedWrites, BoxReply, BoxRequest, BoxVerify, BoxWrites } from './replication-box-protocol.js';
import { epochNowMs } from './epoch-now.js';
import { RawStreams } from './replication-raw-streams.js';

/*
 * One node of the bench's store in a thread of its own, as each store box runs its node: its
 * journal written through the real StandIn, and its real Replicator with its own replicas.db.
 * Commit and store times are kept here and taken by the fleet after each phase, so measuring adds
 * no message per entry.
 */
const TICK_MS = 1;
const MAX_LOGGED = 5;

class Box {
  private readonly journal: Journal;
  private readonly standIn: StandIn;
  private replicator: Replicator | undefined;
  private issued = 0;
  private commits: number[] = [];
  private stored: [string, number, number][] = [];
  private busySince = performance.eventLoopUtilization();
  private readonly tally = { warnings: 0, errors: 0, first: [] as string[] };
  /** Outbox counts of replicators already stopped, and at the last take. */
  private readonly outboxDone = { published: 0, messages: 0 };
  private readonly outboxTaken = { published: 0, messages: 0 };

  constructor(private readonly init: BoxInit) {
    this.journal = Journal.open({ path: join(init.dir, 'journal.db'), nodeId: init.nodeId });
    this.standIn = StandIn.open({ journal: this.journal, rules: benchRules() });
  }

  startReplicator(): void {
    if (this.replicator !== undefined) return;
    const { init } = this;
    this.replicator = Replicator.start({
      settings: {
        nodeId: init.nodeId,
        dataDir: init.dir,
        journalPath: this.journal.path,
        fleet: init.fleet,
        store: init.store,
        brokerUrl: init.brokerUrl,
        passwordFile: join(init.dir, 'broker.pw'),
        signingKeyFile: init.signingKeyFile,
        peers: init.peers,
        inflightWindow: init.inflightWindow,
      },
      log: this.countingLog(),
      onPeerEntries: (entries) => {
        const at = epochNowMs();
        for (const entry of entries) this.stored.push([entry.nodeId, entry.seq, at]);
      },
    });
  }

  async stopReplicator(): Promise<void> {
    const replicator = this.replicator;
    if (replicator === undefined) return;
    this.replicator = undefined;
    const { published, messages } = replicator.status().outbox;
    this.outboxDone.published += published;
    this.outboxDone.messages += messages;
    await replicator.stop();
  }

  /** One approval, resolved once durable; its commit time is kept for the lag. */
  async authorize(tag: string): Promise<JournalEntry> {
    const n = this.issued++;
    const cards = this.init.cards;
    const outcome = await this.standIn.authorize({
      idempotencyKey: `${tag}-${this.init.nodeId}-${n}`,
      amountMinor: 100 + ((n * 7919) % 9_900),
      currency: BENCH_CURRENCY,
      card: cards[n % cards.length] as CardFacts,
      lane: this.init.nodeId,
      reference: `r-${n}`,
    });
    if (outcome.entry === null) throw new Error(`${this.init.nodeId}: the journal could not record a decision: ${outcome.failure?.message ?? 'unknown failure'}`);
    this.commits.push(outcome.entry.seq, epochNowMs());
    // As the node's journal writer does after a commit: the outbox publishes now instead of at its next poll.
    this.replicator?.notify();
    return outcome.entry;
  }

  /** `concurrency` requests in flight, closed loop, so the group commit batches them as a busy store's lanes would. */
  async burst(entries: number, concurrency: number, tag: string): Promise<BoxWrites> {
    const writes = new Writes(this.init.nodeId);
    let issued = 0;
    const lane = async (): Promise<void> => {
      while (issued < entries) {
        issued++;
        await writes.one(() => this.authorize(tag));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    return writes.result();
  }

  /**
   * `ratePerSec` for `seconds`, open loop: requests are issued on schedule whether or not earlier
   * ones were answered, as card taps arrive, so a slow answer shows as lag, not a lower offered rate.
   * With a quorum timeout each decision then waits for Replicator.awaitQuorum, as the node's does.
   */
  async paced(ratePerSec: number, seconds: number, tag: string, quorumTimeoutMs: number | undefined): Promise<BoxPacedWrites> {
    const writes = new Writes(this.init.nodeId);
    const quorumMs: number[] = [];
    let reached = 0;
    let localOnly = 0;
    const one = async (): Promise<void> => {
      const entry = await writes.one(() => this.authorize(tag));
      if (entry === undefined || quorumTimeoutMs === undefined) return;
      const from = performance.now();
      const result = await this.running().awaitQuorum(entry.seq, quorumTimeoutMs);
      quorumMs.push(performance.now() - from);
      if (result.reached) reached++;
      else localOnly++;
    };
    const startedAt = performance.now();
    const pending: Promise<void>[] = [];
    let issued = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        // Elapsed is capped rather than the clock, so the last tick issues exactly rate × seconds.
        const elapsed = Math.min(performance.now() - startedAt, seconds * 1000);
        const due = Math.floor((elapsed * ratePerSec) / 1000);
        for (; issued < due; issued++) pending.push(one());
        if (elapsed >= seconds * 1000) resolve();
        else setTimeout(tick, TICK_MS);
      };
      tick();
    });
    await Promise.all(pending);
    return { ...writes.result(), quorumMs, reached, localOnly };
  }

  takeEvents(): BoxEvents {
    const outbox = this.replicator?.status().outbox;
    const published = this.outboxDone.published + (outbox?.published ?? 0);
    const messages = this.outboxDone.messages + (outbox?.messages ?? 0);
    const events = {
      commits: this.commits,
      stored: this.stored,
      eventLoopUtilization: performance.eventLoopUtilization(this.busySince).utilization,
      published: published - this.outboxTaken.published,
      messages: messages - this.outboxTaken.messages,
    };
    this.outboxTaken.published = published;
    this.outboxTaken.messages = messages;
    this.commits = [];
    this.stored = [];
    this.busySince = performance.eventLoopUtilization();
    return events;
  }

  heads(): BoxHeads {
    const own = this.journal.chainHead();
    const replicator = this.replicator;
    if (replicator === undefined) return { own: { seq: own.seq, hash: own.hash }, replicas: null };
    const replicas = Object.fromEntries(this.init.peers.map((peer) => [peer.nodeId, replicator.replicas.head(peer.nodeId)]));
    return { own: { seq: own.seq, hash: own.hash }, replicas };
  }

  verify(): BoxVerify {
    const replicas = this.running().replicas;
    return Object.fromEntries(
      this.init.peers.map((peer) => {
        const report = replicas.verify(peer.nodeId);
        return [peer.nodeId, { ok: report.ok, checked: report.checked, headHash: report.headHash }];
      }),
    );
  }

  running(): Replicator {
    if (this.replicator === undefined) throw new Error(`${this.init.nodeId}: replicator not started`);
    return this.replicator;
  }

  log(): BoxLogTally {
    return this.tally;
  }

  async close(): Promise<void> {
    await this.stopReplicator();
    await this.standIn.idle();
    this.journal.close();
  }

  private countingLog(): ReplicationLog {
    const ignore: ReplicationLogFn = () => undefined;
    const keep = (level: string, fields: Record<string, unknown>, msg: string): void => {
      if (this.tally.first.length >= MAX_LOGGED) return;
      const err = fields.err;
      this.tally.first.push(`${this.init.nodeId} ${level}: ${msg}${err instanceof Error ? ` (${err.message})` : ''}`);
    };
    return {
      debug: ignore,
      info: ignore,
      warn: (fields, msg) => {
        this.tally.warnings++;
        keep('warn', fields, msg);
      },
      error: (fields, msg) => {
        this.tally.errors++;
        keep('error', fields, msg);
      },
    };
  }
}

class Writes {
  private written = 0;
  private errors = 0;
  private firstError: string | null = null;
  private readonly startedAt = performance.now();
  private lastAt = this.startedAt;

  constructor(private readonly node: string) {}

  async one(write: () => Promise<JournalEntry>): Promise<JournalEntry | undefined> {
    try {
      const entry = await write();
      this.written++;
      this.lastAt = performance.now();
      return entry;
    } catch (error) {
      this.errors++;
      this.firstError ??= error instanceof Error ? error.message : String(error);
      return undefined;
    }
  }

  result(): BoxWrites {
    return { node: this.node, written: this.written, entriesPerSec: ratePerSecond(this.written, this.lastAt - this.startedAt), errors: this.errors, firstError: this.firstError };
  }
}

let box: Box | undefined;
let raw: RawStreams | undefined;

function rawStreams(): RawStreams {
  if (raw === undefined) throw new Error('raw streams used before raw-open');
  return raw;
}

function opened(): Box {
  if (box === undefined) throw new Error('bench box used before init');
  return box;
}

runActor<BoxRequest, BoxReply, BoxInit>({
  // Phases run for seconds while the fleet polls heads and takes events beside them.
  maxConcurrent: 64,
  init(init) {
    box = new Box(init);
  },
  async handle(request) {
    const b = opened();
    switch (request.type) {
      case 'sample-entry':
        return b.authorize('envelope');
      case 'raw-open':
        await raw?.close();
        raw = await RawStreams.open(request.plan);
        return { ok: true };
      case 'raw-send':
        return rawStreams().send();
      case 'raw-received':
        return rawStreams().receivedAll(request.expected, request.timeoutMs);
      case 'raw-close':
        await raw?.close();
        raw = undefined;
        return { ok: true };
      case 'start-replicator':
        b.startReplicator();
        return { ok: true };
      case 'stop-replicator':
        await b.stopReplicator();
        return { ok: true };
      case 'burst':
        return b.burst(request.entries, request.concurrency, request.tag);
      case 'paced':
        return b.paced(request.ratePerSec, request.seconds, request.tag, request.quorumTimeoutMs);
      case 'take-events':
        return b.takeEvents();
      case 'heads':
        return b.heads();
      case 'status':
        return b.running().status();
      case 'verify':
        return b.verify();
      case 'log':
        return b.log();
    }
  },
  async terminate() {
    await raw?.close();
    await box?.close();
  },
});
