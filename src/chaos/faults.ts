import type { StoreNode } from '../demo/store/store-node.js';
import type { PostgresServer } from '../testing/postgres-server.js';
import type { MosquittoServer } from '../testing/mosquitto-server.js';
import type { TcpGate } from '../testing/tcp-gate.js';
import type { DiskFiller } from './disk-filler.js';
import { type RandomSource, between, pick, shuffle } from '../platform/random.js';

export const FAULT_KINDS = ['node-kill', 'node-pause', 'broker-kill', 'db-kill', 'network-cut', 'disk-full'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

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
}

export interface FaultRecord {
  readonly kind: FaultKind;
  /** The box it hit; null for the broker and the database. */
  readonly target: string | null;
  readonly atMs: number;
  readonly heldMs: number;
  /** Set when healing failed: the run reports it as a violation. */
  readonly healError: string | null;
}

/** How long a fault is held before it is healed, and the pause before the next one. */
const HOLD_MS = { min: 800, max: 4_000 } as const;
const GAP_MS = { min: 300, max: 2_000 } as const;

/**
 * Injects one fault at a time, in rounds of every kind in a seeded order, holds it, heals it, and
 * goes on until stopped: boxes killed (SIGKILL) and restarted, paused (SIGSTOP/SIGCONT), cut off
 * the broker, their disk filled; the broker and the database killed and restarted.
 */
export class FaultInjector {
  readonly records: FaultRecord[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly targets: ChaosTargets,
    private readonly random: RandomSource,
    private readonly kinds: readonly FaultKind[],
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
      await this.sleep(between(this.random, GAP_MS.min, GAP_MS.max));
      if (this.stopped) return;
      // Every kind once per round, in a seeded order: a short run still meets each of them.
      if (round.length === 0) round = shuffle(this.random, this.kinds);
      const kind = round.shift()!;
      const box = pick(this.random, this.targets.boxes);
      const heldMs = between(this.random, HOLD_MS.min, HOLD_MS.max);
      const atMs = Date.now();
      const heal = await this.inject(kind, box);
      await this.sleep(heldMs);
      let healError: string | null = null;
      try {
        await heal();
      } catch (error) {
        healError = error instanceof Error ? error.message : String(error);
      }
      this.records.push({ kind, target: kind === 'broker-kill' || kind === 'db-kill' ? null : box.node.id, atMs, heldMs, healError });
    }
  }

  /** Applies the fault; resolves with what heals it. */
  private async inject(kind: FaultKind, box: ChaosBox): Promise<() => Promise<void>> {
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
    }
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
