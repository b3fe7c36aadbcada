import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CardFacts } from '../card/card-facts.js';
import type { JournalEntry } from '../journal/entry.js';
import { Journal } from '../journal/journal.js';
import type { ReplicationLog, ReplicationLogFn } from '../replication/log.js';
import { type ProvisionedNode, peersOf, provisionNodeKeys } from '../replication/provision.js';
import { Replicator, type ReplicatorStatus } from '../replication/replicator.js';
import { Authorizer } from '../standin/authorizer.js';
import { BENCH_CURRENCY, benchRules } from './bench-rules.js';
import { LagTracker } from './replication-tracker.js';

/** The node configuration's default inflightWindow: the replicator as a store runs it. */
export const REPLICATOR_WINDOW = 1_024;
/** Messages in flight for the raw limit: the broker's max_inflight_messages in brokers/mosquitto.conf. */
export const RAW_WINDOW = 64;

export interface FleetOptions {
  readonly dir: string;
  readonly brokerUrl: string;
  readonly fleet: string;
  readonly store: string;
  readonly nodeIds: readonly string[];
  /** node id → broker password */
  readonly passwords: Readonly<Record<string, string>>;
  readonly cards: readonly CardFacts[];
}

export interface FleetNode {
  readonly id: string;
  readonly dir: string;
  readonly journal: Journal;
  readonly authorizer: Authorizer;
  readonly keys: ProvisionedNode;
  replicator: Replicator | undefined;
}

export interface LogTally {
  warnings: number;
  errors: number;
  /** The first few, so a failing run says why without a debug rerun. */
  readonly first: string[];
}

/**
 * Three (or more) nodes of one store in this process: real journals written through the real
 * Authorizer, and real Replicators with their own replicas.db, all timed on one clock.
 */
export class BenchFleet {
  readonly nodes: readonly FleetNode[];
  readonly tracker: LagTracker;
  readonly log: LogTally = { warnings: 0, errors: 0, first: [] };
  private issued = 0;

  constructor(private readonly options: FleetOptions) {
    const keyFiles = provisionNodeKeys(join(options.dir, 'keys'), options.nodeIds);
    const nodes: FleetNode[] = [];
    try {
      for (const keys of keyFiles) {
        const dir = join(options.dir, keys.nodeId);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'broker.pw'), `${options.passwords[keys.nodeId] ?? ''}\n`, { mode: 0o600 });
        const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: keys.nodeId });
        nodes.push({ id: keys.nodeId, dir, journal, authorizer: Authorizer.open({ journal, rules: benchRules() }), keys, replicator: undefined });
      }
    } catch (error) {
      for (const node of nodes) node.journal.close();
      throw error;
    }
    this.nodes = nodes;
    this.tracker = new LagTracker(options.nodeIds, performance.now());
  }

  startReplicators(): void {
    const keyFiles = this.nodes.map((n) => n.keys);
    for (const node of this.nodes) {
      node.replicator = Replicator.start({
        settings: {
          nodeId: node.id,
          dataDir: node.dir,
          journalPath: node.journal.path,
          fleet: this.options.fleet,
          store: this.options.store,
          brokerUrl: this.options.brokerUrl,
          passwordFile: join(node.dir, 'broker.pw'),
          signingKeyFile: node.keys.signingKeyFile,
          peers: peersOf(node.id, keyFiles),
          inflightWindow: REPLICATOR_WINDOW,
        },
        log: this.countingLog(),
        onPeerEntries: (entries) => this.tracker.stored(node.id, entries, performance.now()),
      });
    }
  }

  /** Stops every replicator (their outboxes keep the place): what follows piles up as a backlog. */
  async stopReplicators(): Promise<void> {
    await Promise.allSettled(this.nodes.map((node) => node.replicator?.stop()));
    for (const node of this.nodes) node.replicator = undefined;
  }

  /** One approval on `node`, resolved once durable; its commit time is recorded for the lag. */
  async authorize(node: FleetNode, tag: string): Promise<JournalEntry> {
    const n = this.issued++;
    const outcome = await node.authorizer.authorize({
      idempotencyKey: `${tag}-${node.id}-${n}`,
      amountMinor: 100 + ((n * 7919) % 9_900),
      currency: BENCH_CURRENCY,
      card: this.options.cards[n % this.options.cards.length] as CardFacts,
      lane: node.id,
      reference: `r-${n}`,
    });
    const at = performance.now();
    if (outcome.entry === null) throw new Error(`${node.id}: the journal could not record a decision: ${outcome.failure?.message ?? 'unknown failure'}`);
    this.tracker.committed(outcome.entry, at);
    // As the node's journal writer does after a commit: the outbox publishes now instead of at its next poll.
    node.replicator?.notify();
    return outcome.entry;
  }

  replicator(node: FleetNode): Replicator {
    if (node.replicator === undefined) throw new Error(`${node.id}: replicator not started`);
    return node.replicator;
  }

  statuses(): ReplicatorStatus[] {
    return this.nodes.map((node) => this.replicator(node).status());
  }

  /** Every node holds every other node's exact chain up to its journal head. */
  converged(): boolean {
    return this.nodes.every((holder) =>
      this.nodes.every((origin) => {
        if (origin === holder) return true;
        const head = origin.journal.chainHead();
        const replica = holder.replicator?.replicas.head(origin.id);
        return replica?.seq === head.seq && replica.hash === head.hash;
      }),
    );
  }

  /** Entries some peer does not hold yet, over every (holder, origin) pair. */
  missing(): number {
    let total = 0;
    for (const holder of this.nodes) {
      for (const origin of this.nodes) {
        if (origin === holder) continue;
        total += origin.journal.chainHead().seq - (holder.replicator?.replicas.head(origin.id).seq ?? 0);
      }
    }
    return total;
  }

  /** Every replica re-hashed from genesis and ending at its origin's head: copies, not just counts. */
  verified(): boolean {
    return this.nodes.every((holder) =>
      this.nodes.every((origin) => {
        if (origin === holder) return true;
        const report = this.replicator(holder).replicas.verify(origin.id);
        const head = origin.journal.chainHead();
        return report.ok && report.checked === head.seq && report.headHash === head.hash;
      }),
    );
  }

  async waitConverged(timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.converged()) {
      if (performance.now() > deadline) {
        throw new Error(`replication did not converge within ${timeoutMs} ms ${what}: ${this.missing()} entries missing; statuses ${JSON.stringify(this.statuses()).slice(0, 2_000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.nodes.map((node) => node.replicator?.stop()));
    for (const node of this.nodes) {
      await node.authorizer.idle();
      node.journal.close();
    }
  }

  private countingLog(): ReplicationLog {
    const ignore: ReplicationLogFn = () => undefined;
    const keep = (level: string, fields: Record<string, unknown>, msg: string): void => {
      if (this.log.first.length >= 5) return;
      const err = fields['err'];
      this.log.first.push(`${level}: ${msg}${err instanceof Error ? ` (${err.message})` : ''}`);
    };
    return {
      debug: ignore,
      info: ignore,
      warn: (fields, msg) => {
        this.log.warnings++;
        keep('warn', fields, msg);
      },
      error: (fields, msg) => {
        this.log.errors++;
        keep('error', fields, msg);
      },
    };
  }
}
