import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ActorHandle, startActor } from '../actors/actor.js';
import { moduleUrl } from '../actors/modules.js';
import type { CardFacts } from '../card/card-facts.js';
import type { JournalEntry } from '../journal/entry.js';
import { type ProvisionedNode, peersOf, provisionNodeKeys } from '../replication/provision.js';
import type { ReplicatorStatus } from '../replication/replicator.js';
import type { BoxEvents, BoxHeads, BoxLogTally, BoxPacedWrites, BoxReply, BoxRequest, BoxVerify, BoxWrites } from './replication-box-protocol.js';
import { epochNowMs } from './epoch-now.js';
import { LagTracker } from './replication-tracker.js';

/** The node configuration's default inflightWindow: the replicator as a store runs it. */
export const REPLICATOR_WINDOW = 1_024;
/** Messages in flight for the raw limit: the broker's max_inflight_messages in brokers/mosquitto.conf. */
export const RAW_WINDOW = 64;
/** A phase can take this long on a slow machine; the fleet's convergence wait bounds it anyway. */
const PHASE_TIMEOUT_MS = 600_000;
const STOP_TIMEOUT_MS = 10_000;

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

export interface Collected {
  /** Each node's thread's busy share, in node order. */
  readonly busy: number[];
  /** Own entries published by all nodes, and the messages that carried them. */
  readonly published: number;
  readonly messages: number;
}

export interface FleetNode {
  readonly id: string;
  readonly keys: ProvisionedNode;
  readonly box: ActorHandle<BoxRequest, BoxReply>;
}

/**
 * Three (or more) nodes of one store, each in a thread of its own as each runs on a box of its
 * own: real journals written through the real StandIn and real Replicators with their own
 * replicas.db (replication-box-actor.ts). Every thread reads the same epoch-based monotonic clock,
 * so a commit in one and its store in another are timed against each other.
 */
export class BenchFleet {
  readonly tracker: LagTracker;
  private lastHeads: Map<string, BoxHeads> = new Map();

  private constructor(
    readonly nodes: readonly FleetNode[],
    now: number,
  ) {
    this.tracker = new LagTracker(
      nodes.map((n) => n.id),
      now,
    );
  }

  static async start(options: FleetOptions): Promise<BenchFleet> {
    const keyFiles = provisionNodeKeys(join(options.dir, 'keys'), options.nodeIds);
    const nodes: FleetNode[] = [];
    try {
      for (const keys of keyFiles) {
        const dir = join(options.dir, keys.nodeId);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'broker.pw'), `${options.passwords[keys.nodeId] ?? ''}\n`, { mode: 0o600 });
        const box = await startActor<BoxRequest, BoxReply>({
          id: `bench-${keys.nodeId}`,
          module: moduleUrl('bench/replication-box-actor'),
          mailboxCapacity: 256,
          requestTimeoutMs: PHASE_TIMEOUT_MS,
          init: {
            nodeId: keys.nodeId,
            dir,
            brokerUrl: options.brokerUrl,
            fleet: options.fleet,
            store: options.store,
            signingKeyFile: keys.signingKeyFile,
            peers: peersOf(keys.nodeId, keyFiles),
            inflightWindow: REPLICATOR_WINDOW,
            cards: options.cards,
          },
        });
        nodes.push({ id: keys.nodeId, keys, box });
      }
    } catch (error) {
      await Promise.allSettled(nodes.map((node) => node.box.stop(STOP_TIMEOUT_MS)));
      throw error;
    }
    return new BenchFleet(nodes, epochNowMs());
  }

  async sampleEntry(node: FleetNode): Promise<JournalEntry> {
    return (await node.box.request({ type: 'sample-entry' })) as JournalEntry;
  }

  async startReplicators(): Promise<void> {
    await this.each({ type: 'start-replicator' });
  }

  /** Stops every replicator (their outboxes keep the place): what follows piles up as a backlog. */
  async stopReplicators(): Promise<void> {
    await this.each({ type: 'stop-replicator' });
  }

  async burst(entries: number, concurrency: number, tag: string): Promise<BoxWrites[]> {
    return (await this.each({ type: 'burst', entries, concurrency, tag })) as BoxWrites[];
  }

  async paced(ratePerSec: number, seconds: number, tag: string, quorumTimeoutMs?: number): Promise<BoxPacedWrites[]> {
    const request: BoxRequest = { type: 'paced', ratePerSec, seconds, tag, ...(quorumTimeoutMs === undefined ? {} : { quorumTimeoutMs }) };
    return (await this.each(request)) as BoxPacedWrites[];
  }

  /**
   * Hands every box's commit and store times to the tracker (commits first, so a store is never
   * seen before its commit) and returns each box's busy share and outbox counts since the previous
   * collection.
   */
  async collect(): Promise<Collected> {
    const events = (await this.each({ type: 'take-events' })) as BoxEvents[];
    events.forEach((e, i) => {
      const origin = this.nodes[i]?.id ?? '';
      for (let k = 0; k < e.commits.length; k += 2) this.tracker.committed(origin, e.commits[k] as number, e.commits[k + 1] as number);
    });
    events.forEach((e, i) => {
      const holder = this.nodes[i]?.id ?? '';
      for (const [origin, seq, at] of e.stored) this.tracker.stored(holder, origin, seq, at);
    });
    return {
      busy: events.map((e) => e.eventLoopUtilization),
      published: events.reduce((sum, e) => sum + e.published, 0),
      messages: events.reduce((sum, e) => sum + e.messages, 0),
    };
  }

  async statuses(): Promise<ReplicatorStatus[]> {
    return (await this.each({ type: 'status' })) as ReplicatorStatus[];
  }

  /** Every node holds every other node's exact chain up to its journal head. */
  async converged(): Promise<boolean> {
    await this.refreshHeads();
    return this.missingIn(this.lastHeads) === 0 && this.sameHashes(this.lastHeads);
  }

  /** Entries some peer did not hold at the last look, over every (holder, origin) pair. */
  missing(): number {
    return this.missingIn(this.lastHeads);
  }

  /** Every replica re-hashed from genesis and ending at its origin's head: copies, not just counts. */
  async verified(): Promise<boolean> {
    await this.refreshHeads();
    const reports = (await this.each({ type: 'verify' })) as BoxVerify[];
    return this.nodes.every((holder, i) =>
      this.nodes.every((origin) => {
        if (origin === holder) return true;
        const report = reports[i]?.[origin.id];
        const head = this.lastHeads.get(origin.id)?.own;
        return report !== undefined && head !== undefined && report.ok && report.checked === head.seq && report.headHash === head.hash;
      }),
    );
  }

  async logs(): Promise<BoxLogTally> {
    const tallies = (await this.each({ type: 'log' })) as BoxLogTally[];
    return {
      warnings: tallies.reduce((sum, t) => sum + t.warnings, 0),
      errors: tallies.reduce((sum, t) => sum + t.errors, 0),
      first: tallies.flatMap((t) => t.first).slice(0, 5),
    };
  }

  async waitConverged(timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!(await this.converged())) {
      if (performance.now() > deadline) {
        const statuses = await this.statuses().catch((error: unknown) => String(error));
        throw new Error(`replication did not converge within ${timeoutMs} ms ${what}: ${this.missing()} entries missing; statuses ${JSON.stringify(statuses).slice(0, 2_000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.nodes.map((node) => node.box.stop(STOP_TIMEOUT_MS)));
  }

  private async refreshHeads(): Promise<void> {
    const heads = (await this.each({ type: 'heads' })) as BoxHeads[];
    this.lastHeads = new Map(this.nodes.map((node, i) => [node.id, heads[i] as BoxHeads]));
  }

  private missingIn(heads: Map<string, BoxHeads>): number {
    let total = 0;
    for (const holder of this.nodes) {
      for (const origin of this.nodes) {
        if (origin === holder) continue;
        total += (heads.get(origin.id)?.own.seq ?? 0) - (heads.get(holder.id)?.replicas?.[origin.id]?.seq ?? 0);
      }
    }
    return total;
  }

  private sameHashes(heads: Map<string, BoxHeads>): boolean {
    return this.nodes.every((holder) => this.nodes.every((origin) => origin === holder || heads.get(holder.id)?.replicas?.[origin.id]?.hash === heads.get(origin.id)?.own.hash));
  }

  private async each(request: BoxRequest): Promise<BoxReply[]> {
    return Promise.all(this.nodes.map((node) => node.box.request(request)));
  }
}
