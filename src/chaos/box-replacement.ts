import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type StoreNode, peerHead } from '../rigs/store/store-node.js';
import { journalHeadOf } from '../journal/journal-reader.js';
import { storeProgramPath } from '../platform/modules.js';
import type { RebuildReport } from '../rebuild/report.js';

/*
 * A box whose disk dies, replaced by the runbook with the store's own commands, each a process as
 * an operator runs it: the backup timer's `journal backup`, then on the new disk `journal restore`
 * of the last backup and `node rebuild --from-peers --keep-existing` for the entries since, then
 * `node run`. What the hands do (fetching the spare, moving the cable) is the fault's hold; the
 * commands and the node's start are the repair the availability report measures.
 */

/** How long the peers may take to hold what a dying box wrote; its disk dies only once they do. */
const PEERS_HOLD_ALL_WITHIN_MS = 10_000;
/** How long a frozen node waits for what it published to reach its peers before it is let go to publish more. */
const FROZEN_WAIT_MS = 1_000;
/** How long it is let go: its outbox publishes within milliseconds of a commit. */
const PUBLISH_WINDOW_MS = 100;
/** The rebuild's own bound: the store's peers answer within seconds or something else is wrong. */
const REBUILD_TIMEOUT_S = 60;

export class BoxReplacementError extends Error {
  readonly code = 'EDGEPAY_CHAOS_BOX_REPLACEMENT';
}

/** What a replacement did, for the fault log. */
export interface Replacement {
  /** A backup was restored first; false when the box had none yet and the peers gave everything. */
  readonly fromBackup: boolean;
  /** Entries the rebuild took from the peers, and the journal's head after it. */
  readonly entriesFromPeers: number;
  readonly headSeq: number;
  readonly restoreMs: number;
  readonly rebuildMs: number;
  /** From `node run` to the lane's reader ready. */
  readonly startMs: number;
}

/** Whether the disk died, or why the box was spared (its peers did not hold all it wrote in time). */
export type DiskDeath = { readonly died: true } | { readonly died: false; readonly why: string };

/**
 * The nightly backup timer (systemd/edgepay-journal-backup@.timer), run more often to suit a
 * round of minutes: an online copy of each running box's journal, verified and renamed into place
 * by `journal backup` itself.
 */
export class BackupTimer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  /** Boxes whose disk is being replaced: their journal is not there to copy. */
  private readonly spared = new Set<string>();
  taken = 0;
  readonly failures: string[] = [];

  constructor(
    private readonly nodes: readonly StoreNode[],
    readonly dir: string,
    private readonly everyMs: number,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  backupOf(node: StoreNode): string {
    return join(this.dir, `${node.id}.db`);
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.backUpAll());
    }, this.everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Holds the timer off a box while its disk is replaced; the returned function lets it go. */
  spare(node: StoreNode): () => void {
    this.spared.add(node.id);
    return () => this.spared.delete(node.id);
  }

  /** Every running box's journal copied now, one after the other as the boxes' timers would. */
  async backUpAll(): Promise<void> {
    for (const node of this.nodes) {
      if (!node.running || this.spared.has(node.id)) continue;
      try {
        await runCommand(node, ['journal', 'backup', '--db', node.journalPath, '--to', this.backupOf(node)]);
        this.taken++;
      } catch (error) {
        // A box that died while being copied is no failure of the backup; one that runs is.
        if (node.running && !this.spared.has(node.id)) this.failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  }
}

/**
 * The box's disk dies once the peers hold everything it wrote, as a dead disk loses nothing only
 * then (with quorum acknowledgement off). The node is frozen and its head read; the disk dies if
 * every peer's replica reaches that head while it is frozen. An entry written just before the
 * freeze may not have left the box yet, and a frozen node publishes nothing: then it is let go for
 * a moment to publish, and frozen again, until the deadline; after it the box is spared.
 */
export async function killDisk(node: StoreNode, peers: readonly StoreNode[]): Promise<DiskDeath> {
  const deadline = Date.now() + PEERS_HOLD_ALL_WITHIN_MS;
  for (;;) {
    node.pause();
    const head = journalHeadOf(node.journalPath, node.id);
    const frozenUntil = Math.min(deadline, Date.now() + FROZEN_WAIT_MS);
    let held = await peerHeads(peers, node.id);
    while (!held.every((seq) => seq >= head) && Date.now() < frozenUntil) {
      await sleep(50);
      held = await peerHeads(peers, node.id);
    }
    if (held.every((seq) => seq >= head)) break;
    node.resume();
    if (Date.now() >= deadline) return { died: false, why: `the peers held ${held.join(', ')} of ${node.id}'s ${head} after ${PEERS_HOLD_ALL_WITHIN_MS} ms` };
    await sleep(PUBLISH_WINDOW_MS);
  }
  await node.powerOff();
  for (const name of readdirSync(node.dataDir)) rmSync(join(node.dataDir, name), { recursive: true, force: true });
  return { died: true };
}

function peerHeads(peers: readonly StoreNode[], origin: string): Promise<number[]> {
  return Promise.all(peers.map((peer) => peerHead(peer.statusUrl, origin)));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The spare disk in, the runbook's commands run, the node started: resolves once its lane's reader is ready. */
export async function replaceDisk(node: StoreNode, backup: string): Promise<Replacement> {
  const restoreStarted = Date.now();
  const restored = existsSync(backup);
  if (restored) await runCommand(node, ['journal', 'restore', '--from', backup, '--db', node.journalPath]);
  const rebuildStarted = Date.now();
  // The operator has seen the box dead; its last status on the broker may still say online.
  const rebuilt = await runCommand(node, [
    'node',
    'rebuild',
    '--from-peers',
    '--config',
    node.configPath,
    '--even-if-online',
    '--timeout-s',
    String(REBUILD_TIMEOUT_S),
    '--json',
    ...(restored ? ['--keep-existing'] : []),
  ]);
  const startStarted = Date.now();
  await node.restart();
  const report = JSON.parse(rebuilt) as Pick<RebuildReport, 'entries' | 'headSeq'>;
  return {
    fromBackup: restored,
    entriesFromPeers: report.entries,
    headSeq: report.headSeq,
    restoreMs: rebuildStarted - restoreStarted,
    rebuildMs: startStarted - rebuildStarted,
    startMs: Date.now() - startStarted,
  };
}

/** One of the store's commands on the box, as its operator runs it; resolves with its stdout, rejects with its stderr. */
function runCommand(node: StoreNode, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [storeProgramPath(), ...args], { env: node.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new BoxReplacementError(`edgepay ${args.slice(0, 2).join(' ')} on ${node.id} exited ${String(code)}: ${err.trim()}`));
    });
  });
}
