import type { StoreNode } from '../rigs/store/store-node.js';
import type { PostgresServer } from '../rigs/database/postgres-server.js';
import type { MosquittoServer } from '../rigs/broker/mosquitto-server.js';
import type { TcpGate } from '../rigs/network/tcp-gate.js';
import type { DiskFiller } from '../rigs/disk/disk-filler.js';
import { type RandomSource, between, pick, shuffle } from '../platform/random.js';
import type { HardwareAbsence } from './availability.js';
import { cutPower, restorePower } from './power-cut.js';
import { type BackupTimer, killDisk, replaceDisk } from './box-replacement.js';

export const FAULT_KINDS = ['node-kill', 'node-pause', 'broker-kill', 'db-kill', 'network-cut', 'disk-full', 'store-power-cut', 'broker-box-death', 'reader-unplug', 'disk-death'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Kinds that hit the store as a whole rather than one box. */
const STORE_WIDE: readonly FaultKind[] = ['broker-kill', 'db-kill', 'store-power-cut', 'broker-box-death'];

/** One box of the store as the injector sees it: its process, its link to the broker, its disk. */
export interface ChaosBox {
  readonly node: StoreNode;
  readonly gate: TcpGate;
  /** Absent where the machine cannot give the box a disk of its own (not root, no tmpfs). */
  readonly disk: DiskFiller | undefined;
}

export interface ChaosTargets {
  readonly boxes: readonly ChaosBox[];
  readonly broker: MosquittoServer;
  readonly database: PostgresServer;
  /** The boxes' backup timer: a box whose disk dies gets its last copy back. Absent, no disk dies. */
  readonly backups?: BackupTimer;
}

export interface FaultRecord {
  readonly kind: FaultKind;
  /** The box it hit; null for the broker, the database and the whole store. */
  readonly target: string | null;
  /** Wall-clock milliseconds (Date.now()) when it was injected. */
  readonly atMs: number;
  /** How long it was held before healing began: from atMs, cut short when the run stops. */
  readonly heldMs: number;
  /** When the heal finished (or failed): restarts take time of their own, which counts as repair. */
  readonly healedAtMs: number;
  /** Set when healing failed: the run reports it as a violation. */
  readonly healError: string | null;
  /**
   * Where the fault took a lane's hardware away: a box without power (until its boot began), a
   * reader out of its socket (until it was plugged back), a box whose disk died (until the spare
   * disk was in and the runbook began). No software serves a lane then; the
   * availability report keeps the requests sent in these spans apart. Empty for software faults.
   */
  readonly absent: readonly HardwareAbsence[];
  /** What healing did where there is more to say than "healed": a power cut's restoration order and retries. */
  readonly detail: string | null;
}

/** What a heal had to say (a power cut's restoration order, a box's replacement), and when each box had power again. */
interface HealReport {
  readonly detail: string;
  readonly poweredAtMs?: ReadonlyMap<string, number>;
}

/** How long a fault is held before it is healed, and the pause before the next one. */
const HOLD_MS = { min: 800, max: 4_000 } as const;
const GAP_MS = { min: 300, max: 2_000 } as const;
/** systemd/edgepay-node.service's RestartSec: how long systemd leaves a dead node down. */
export const NODE_RESTART_DELAY_MS = 100;
/**
 * Kinds held differently. A killed node is started again as systemd would start it. The broker's
 * box dies for longer than the broker process alone (its machine must boot); a power cut is held
 * short because restoring five processes one after the other takes seconds of its own, and the
 * short CI round must still meet every kind.
 */
const HOLD_BY_KIND: Partial<Record<FaultKind, { readonly min: number; readonly max: number }>> = {
  'node-kill': { min: NODE_RESTART_DELAY_MS, max: NODE_RESTART_DELAY_MS },
  'broker-box-death': { min: 3_000, max: 6_000 },
  'store-power-cut': { min: 800, max: 2_000 },
};

/**
 * Injects one fault at a time, in rounds of every kind in a seeded order, holds it, heals it, and
 * goes on until stopped: boxes killed (SIGKILL) and restarted, paused (SIGSTOP/SIGCONT), cut off
 * the broker, their disk filled, their reader unplugged and plugged in again, their disk dead and
 * replaced by the runbook; the broker and the
 * database killed and restarted, the broker's box dead for longer; the whole store's power cut and
 * every process started again in a seeded order.
 */
export class FaultInjector {
  readonly records: FaultRecord[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  /**
   * @param faultEveryMs one fault starts this long after the one before started (or once that one
   *   is healed, if it took longer); by default a seeded 0.3–2 s pause follows each heal.
   */
  constructor(
    private readonly targets: ChaosTargets,
    private readonly random: RandomSource,
    private readonly kinds: readonly FaultKind[],
    private readonly faultEveryMs?: number,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  /** Stops after healing the fault in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  counts(): Partial<Record<FaultKind, number>> {
    const counts: Partial<Record<FaultKind, number>> = {};
    for (const record of this.records) counts[record.kind] = (counts[record.kind] ?? 0) + 1;
    return counts;
  }

  private async loop(): Promise<void> {
    let round: FaultKind[] = [];
    while (!this.stopped) {
      const previous = this.records.at(-1);
      const paced = this.faultEveryMs === undefined ? undefined : (previous?.atMs ?? Date.now()) + this.faultEveryMs - Date.now();
      await this.sleep(paced === undefined ? between(this.random, GAP_MS.min, GAP_MS.max) : Math.max(0, paced));
      if (this.stopped) return;
      // Every kind once per round, in a seeded order: a short run still meets each of them.
      if (round.length === 0) round = shuffle(this.random, this.kinds);
      const kind = round.shift()!;
      const box = pick(this.random, this.targets.boxes);
      const hold = HOLD_BY_KIND[kind] ?? HOLD_MS;
      const holdMs = between(this.random, hold.min, hold.max);
      const atMs = Date.now();
      const heal = await this.inject(kind, box);
      await this.sleep(holdMs);
      const heldMs = Date.now() - atMs;
      let healError: string | null = null;
      let detail: string | null = null;
      let absent: HardwareAbsence[] = kind === 'reader-unplug' ? [{ box: box.node.id, fromMs: atMs, untilMs: atMs + heldMs }] : [];
      try {
        const healed = (await heal()) ?? undefined;
        detail = healed?.detail ?? null;
        if (healed?.poweredAtMs !== undefined) absent = [...healed.poweredAtMs].map(([id, untilMs]) => ({ box: id, fromMs: atMs, untilMs }));
      } catch (error) {
        healError = error instanceof Error ? error.message : String(error);
      }
      this.records.push({ kind, target: STORE_WIDE.includes(kind) ? null : box.node.id, atMs, heldMs, healedAtMs: Date.now(), healError, detail, absent });
    }
  }

  /** Applies the fault; resolves with what heals it. */
  // biome-ignore lint/suspicious/noConfusingVoidType: most heals are the restart itself, whose promise is void.
  private async inject(kind: FaultKind, box: ChaosBox): Promise<() => Promise<HealReport | void>> {
    const { broker, database } = this.targets;
    switch (kind) {
      case 'node-kill':
        await box.node.kill();
        return () => box.node.restart();
      case 'node-pause':
        box.node.pause();
        return async () => box.node.resume();
      case 'broker-kill':
        await broker.kill();
        return () => broker.start();
      case 'db-kill':
        await database.kill();
        return () => database.restart();
      case 'network-cut':
        box.gate.block();
        return async () => box.gate.unblock();
      case 'disk-full': {
        const disk = box.disk;
        if (disk === undefined) return async () => undefined;
        disk.fill();
        return async () => disk.free();
      }
      case 'store-power-cut': {
        const store = { nodes: this.targets.boxes.map((b) => b.node), broker, database };
        const plan = await cutPower(store, this.random);
        return async () => {
          const restored = await restorePower(store, plan);
          return { detail: restored.detail, poweredAtMs: restored.poweredAtMs };
        };
      }
      case 'broker-box-death':
        // The chaos store has one broker, so its box dying cuts every node off its peers and the
        // centre for the whole hold; the payments go on offline.
        await broker.kill();
        return () => broker.start();
      case 'reader-unplug':
        await box.node.unplugReader();
        return () => box.node.replugReader();
      case 'disk-death':
        return this.killDisk(box);
    }
  }

  /**
   * The box's disk dies (once its peers hold all it wrote) and the hold is the operator fetching
   * the spare; the heal is the runbook on the new disk. The box is without hardware until then.
   */
  private async killDisk(box: ChaosBox): Promise<() => Promise<HealReport>> {
    const { backups, boxes } = this.targets;
    if (backups === undefined) return async () => ({ detail: 'spared: no backup timer, so no disk may die' });
    const release = backups.spare(box.node);
    const death = await killDisk(
      box.node,
      boxes.filter((b) => b !== box).map((b) => b.node),
    ).catch((error: unknown) => {
      release();
      throw error;
    });
    if (!death.died) {
      release();
      return async () => ({ detail: `spared: ${death.why}` });
    }
    return async () => {
      const poweredAtMs = new Map([[box.node.id, Date.now()]]);
      try {
        const r = await replaceDisk(box.node, backups.backupOf(box.node));
        const source = r.fromBackup ? `the last backup and ${r.entriesFromPeers} entries from the peers` : `${r.entriesFromPeers} entries from the peers (no backup yet)`;
        return { detail: `new disk: head ${r.headSeq} from ${source}; restore ${r.restoreMs} ms, rebuild ${r.rebuildMs} ms, start ${r.startMs} ms`, poweredAtMs };
      } finally {
        release();
      }
    };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
