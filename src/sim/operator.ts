import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { backupJournal } from '../journal/backup.js';
import { restoreJournal } from '../journal/restore.js';
import { monotonicMs } from '../platform/clock.js';
import { type RandomSource, between } from '../platform/random.js';
import type { KeyRing } from '../wire/keys.js';
import { type RebuildLink, rebuildOver } from '../rebuild/rebuild.js';
import type { RebuildReport } from '../rebuild/report.js';
import { DEFAULT_REBUILD_TUNING, type RebuildTimer } from '../rebuild/session.js';
import type { StoreTopics } from '../wire/topics.js';
import type { SimNetwork } from './network.js';
import type { SimScheduler } from './scheduler.js';
import type { SimNode } from './sim-node.js';

export interface SimOperatorOptions {
  readonly scheduler: SimScheduler;
  readonly network: SimNetwork;
  readonly topics: StoreTopics;
  readonly keys: KeyRing;
  readonly peerIds: (nodeId: string) => readonly string[];
  readonly backupsDir: string;
}

export interface ReplacedDisk {
  /** The backup's head when one was restored; null when there was none yet and the peers gave all. */
  readonly restoredHeadSeq: number | null;
  readonly report: RebuildReport;
  /** Rebuild runs that failed first (the broker gone, a link cut, peers still answering) and were run again. */
  readonly failedRuns: number;
}

const REBUILD_TIMEOUT_MS = 30_000;
const RETRY_AFTER_MS = 2_000;
const MAX_RUNS = 30;

/**
 * The store's operator, as the runbook has them work: the backup timer copies every journal
 * online, and a box whose disk died gets a new one, the last backup restored onto it (`journal
 * restore`), then the entries after the backup from the peers (`node rebuild --from-peers
 * --keep-existing`), then its node started. The commands' own code runs, on the simulated broker
 * and clock; a run that fails is run again, as an operator would.
 */
export class SimOperator {
  private readonly timer: RebuildTimer;
  /** Backups the backup timer took. */
  backupsTaken = 0;

  constructor(private readonly options: SimOperatorOptions) {
    mkdirSync(options.backupsDir, { recursive: true });
    const { scheduler } = options;
    this.timer = { nowMs: () => monotonicMs(scheduler.clock), sleep: (ms) => new Promise((resolve) => scheduler.after(ms, () => resolve())) };
  }

  backupPath(nodeId: string): string {
    return join(this.options.backupsDir, `${nodeId}.db`);
  }

  /** The backup timer's run: an online copy of the live journal, verified before it replaces the last one. */
  async backUp(node: SimNode): Promise<void> {
    if (!node.up) return;
    await backupJournal(node.journalPath, this.backupPath(node.id));
    this.backupsTaken++;
  }

  /** The backup timer of every box, each at its own phase, every `everyMs` until `untilMs`. */
  scheduleBackups(nodes: readonly SimNode[], everyMs: number, untilMs: number, random: RandomSource): void {
    const { scheduler } = this.options;
    for (const node of nodes) scheduler.after(between(random, 0, everyMs), () => scheduler.every(everyMs, untilMs, () => this.backUp(node)));
  }

  /** The box's disk dies now; resolves once the operator has it trading again. */
  async replaceDisk(node: SimNode): Promise<ReplacedDisk> {
    node.loseDisk();
    const backup = this.backupPath(node.id);
    const restoredHeadSeq = existsSync(backup) ? restoreJournal({ from: backup, to: node.journalPath }).restoredHeadSeq : null;
    for (let run = 1; ; run++) {
      try {
        const report = await this.rebuild(node);
        node.repaired();
        return { restoredHeadSeq, report, failedRuns: run - 1 };
      } catch (error) {
        if (run >= MAX_RUNS) throw error;
        await this.timer.sleep(RETRY_AFTER_MS);
      }
    }
  }

  private rebuild(node: SimNode): Promise<RebuildReport> {
    const { network, topics } = this.options;
    return rebuildOver({
      nodeId: node.id,
      journalPath: node.journalPath,
      topics,
      keys: this.options.keys,
      signingKey: node.options.signingKey,
      peerIds: this.options.peerIds(node.id),
      keepExisting: true,
      // The dead box never said goodbye and the simulated broker sends no last will: the operator knows it is gone.
      evenIfOnline: true,
      timeoutMs: REBUILD_TIMEOUT_MS,
      tuning: DEFAULT_REBUILD_TUNING,
      timer: this.timer,
      keepSuffix: 'rebuild',
      openLink: async () => simRebuildLink(network, node.id),
    });
  }
}

/** The rebuild's client on the simulated broker, under the box's own name (its credentials), told when its connection drops. */
function simRebuildLink(network: SimNetwork, nodeId: string): RebuildLink {
  const handlers = new Set<(topic: string, payload: Buffer) => void>();
  const closeHandlers = new Set<() => void>();
  let port: ReturnType<SimNetwork['attach']> | undefined;
  const unwatch = network.watchConnection(nodeId, () => {
    for (const closed of [...closeHandlers]) closed();
  });
  return {
    transport: {
      onMessage: (handler) => {
        handlers.add(handler);
        return () => handlers.delete(handler);
      },
      onClose: (handler) => {
        closeHandlers.add(handler);
        return () => closeHandlers.delete(handler);
      },
      publish: (topic, payload) => (port === undefined ? Promise.reject(new Error('not subscribed yet')) : port.publish(topic, payload, { qos: 1 })),
    },
    subscribe: async (filters) => {
      if (!network.reachable(nodeId)) throw new Error(`${nodeId} cannot reach the broker`);
      port = network.attach(nodeId, filters, (topic, payload) => {
        for (const handler of [...handlers]) handler(topic, payload);
      });
    },
    close: async () => {
      unwatch();
      network.detach(nodeId);
    },
  };
}
