import type { KeyObject } from 'node:crypto';
import { type RandomSource, between, pick } from '../platform/random.js';
import type { StoreTopics } from '../wire/topics.js';
import { forge } from './forgeries.js';
import type { SimNetwork } from './network.js';
import type { SimOperator } from './operator.js';
import { SimScheduler } from './scheduler.js';
import type { SimNode } from './sim-node.js';
import type { SimPos } from './sim-pos.js';
import type { SimSerialLine } from './sim-serial-line.js';

export const SIM_FAULTS = [
  'crash',
  'crash-mid-payment',
  'crash-mid-turn',
  'torn-write',
  'disk-replaced',
  'reader-unplugged',
  'link-cut',
  'partition',
  'broker-restart',
  'uplink-cut',
  'clock-jump',
  'disk-full',
  'forgery',
] as const;
export type SimFault = (typeof SIM_FAULTS)[number];

export interface RestoreTally {
  /** Backups the backup timer took. */
  backups: number;
  fromBackup: number;
  fromPeersOnly: number;
  /** Entries the peers gave after the backup's head, over every restore. */
  entriesFromPeers: number;
  /** Rebuild runs that failed (broker gone, link cut) and were run again. */
  failedRuns: number;
  /** The disk dies only once the peers hold all the box wrote (otherwise only quorum mode keeps its tail): these never got there. */
  skipped: number;
  unfinished: number;
}

/** What the faults act on. */
export interface FaultTargets {
  readonly scheduler: SimScheduler;
  readonly random: RandomSource;
  readonly nodes: readonly SimNode[];
  readonly network: SimNetwork;
  /** Each node's readers' lines, one per lane. */
  readonly lines: ReadonlyMap<string, readonly SimSerialLine[]>;
  /** Nodes whose uplink to the centre is cut. */
  readonly uplinkCut: Set<string>;
  readonly operator: SimOperator;
  readonly pos: SimPos;
  readonly topics: StoreTopics;
  readonly signingKeys: ReadonlyMap<string, KeyObject>;
  readonly trading: () => boolean;
}

const TICK_MS = 250;
/** How long a dead disk waits for the peers to hold all its box wrote: these many ticks. */
const DISK_DEATH_TRIES = 20;

/**
 * Faults from the seed, one every half second to four seconds while the store trades, each on a
 * node the seed picks and most healed after a hold the seed picks too. Faults end with trading:
 * the heal must find every box it starts still running.
 */
export class FaultInjector {
  readonly faults: Partial<Record<SimFault, number>> = {};
  /** Torn writes by what reached the disk: part of the commit (SQLite must drop it) or all of it. */
  readonly tornWrites = { part: 0, whole: 0 };
  private readonly restoreTally: Omit<RestoreTally, 'backups'> = { fromBackup: 0, fromPeersOnly: 0, entriesFromPeers: 0, failedRuns: 0, skipped: 0, unfinished: 0 };
  private readonly restoring = new Set<Promise<void>>();

  constructor(private readonly targets: FaultTargets) {}

  start(): void {
    this.targets.scheduler.after(between(this.targets.random, 500, 2_000), () => this.injectNext());
  }

  /** Disks being replaced now: the boxes come back when the operator is done. */
  get restoresUnderway(): number {
    return this.restoring.size;
  }

  restores(): RestoreTally {
    return { ...this.restoreTally, backups: this.targets.operator.backupsTaken, unfinished: this.restoreTally.unfinished + this.restoring.size };
  }

  private async injectNext(): Promise<void> {
    const { scheduler, random, nodes, network, pos, trading } = this.targets;
    if (!trading()) return;
    const kind = pick(random, SIM_FAULTS);
    const node = pick(random, nodes);
    const holdMs = between(random, 200, 5_000);
    this.faults[kind] = (this.faults[kind] ?? 0) + 1;
    switch (kind) {
      case 'crash':
        node.crash();
        scheduler.after(holdMs, () => node.start());
        break;
      case 'crash-mid-payment':
        // The box dies with a payment handed to its group commit and not yet written: no answer may have gone out.
        pos.payCaptured(node, pos.newCaptured(node, pos.regular()));
        node.crash();
        scheduler.after(holdMs, () => node.start());
        break;
      case 'crash-mid-turn': {
        // Killed inside whatever runs next (a delivery, a commit, an answer from the centre), between two of its steps.
        const within = between(random, 0, 1_000);
        scheduler.interrupt(within, random.int(SimScheduler.turnsPerEvent), () => trading() && node.crash());
        scheduler.after(within + TICK_MS + holdMs, () => node.start());
        break;
      }
      case 'torn-write': {
        const payment = pos.newCaptured(node, pos.regular());
        payment.attempts++;
        const torn = await node.crashTearing(pos.requestOf(payment), random);
        if (torn !== undefined) this.tornWrites[torn.whole ? 'whole' : 'part']++;
        scheduler.after(holdMs, () => node.start());
        break;
      }
      case 'disk-replaced':
        this.replaceDisk(node, DISK_DEATH_TRIES);
        break;
      case 'reader-unplugged': {
        // One lane's reader: the box's other lane keeps taking payments.
        const line = pick(random, this.targets.lines.get(node.id)!);
        line.unplug();
        scheduler.after(holdMs, () => line.replug());
        break;
      }
      case 'link-cut':
        network.cut(node.id);
        scheduler.after(holdMs, () => network.heal(node.id));
        break;
      case 'partition': {
        const other = pick(
          random,
          nodes.filter((n) => n !== node),
        );
        network.cutBetween(node.id, other.id);
        scheduler.after(holdMs, () => network.healBetween(node.id, other.id));
        break;
      }
      case 'broker-restart':
        network.stopBroker();
        scheduler.after(holdMs, () => network.startBroker());
        break;
      case 'uplink-cut':
        this.targets.uplinkCut.add(node.id);
        scheduler.after(holdMs, () => {
          this.targets.uplinkCut.delete(node.id);
        });
        break;
      case 'clock-jump':
        // Wall time only, as NTP stepping the clock would: backwards or forwards by up to ten minutes.
        scheduler.clock.setWallMs(scheduler.clock.wallMs() + between(random, -600_000, 600_000));
        break;
      case 'disk-full':
        node.fillDisk();
        scheduler.after(holdMs, () => node.freeDisk());
        break;
      case 'forgery': {
        const forged = forge(random, this.targets.topics, scheduler.clock, node.id, this.targets.signingKeys.get(node.id)!, node.lastEntry());
        network.inject(forged.topic, forged.payload, forged.owner);
        break;
      }
    }
    scheduler.after(between(random, 500, 4_000), () => this.injectNext());
  }

  /** The box's disk dies once its peers hold all it wrote, and the operator replaces it by the runbook. */
  private replaceDisk(node: SimNode, tries: number): void {
    const { scheduler, nodes, operator, trading } = this.targets;
    if (node.underRepair || !trading()) return;
    if (!node.up || nodes.some((peer) => peer !== node && peer.replicaHead(node.id) < node.headSeq())) {
      if (tries > 0) scheduler.after(TICK_MS, () => this.replaceDisk(node, tries - 1));
      else this.restoreTally.skipped++;
      return;
    }
    const tally = this.restoreTally;
    const done: Promise<void> = operator
      .replaceDisk(node)
      .then((replaced) => {
        tally[replaced.restoredHeadSeq === null ? 'fromPeersOnly' : 'fromBackup']++;
        tally.entriesFromPeers += replaced.report.entries;
        tally.failedRuns += replaced.failedRuns;
      })
      .catch(() => {
        tally.unfinished++;
      })
      .finally(() => this.restoring.delete(done));
    this.restoring.add(done);
  }
}
