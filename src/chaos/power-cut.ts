import type { StoreNode } from '../rigs/store/store-node.js';
import type { MosquittoServer } from '../rigs/broker/mosquitto-server.js';
import type { PostgresServer } from '../rigs/database/postgres-server.js';
import { type RandomSource, between, shuffle } from '../platform/random.js';

/*
 * The store's power cut: every process dies at once, and comes back in whatever order the
 * machines boot. The order and the gaps between the starts are drawn when the power goes, so a
 * seed replays the same restoration.
 */

export interface PoweredStore {
  readonly nodes: readonly StoreNode[];
  readonly broker: MosquittoServer;
  readonly database: PostgresServer;
}

export type PowerStep = { readonly what: 'broker' } | { readonly what: 'database' } | { readonly what: 'node'; readonly node: StoreNode };

export interface PowerPlan {
  readonly steps: readonly { readonly step: PowerStep; readonly gapMs: number }[];
}

/** Between one process's start and the next's, as boxes on one circuit boot at slightly different speeds. */
const BOOT_GAP_MS = { min: 100, max: 800 } as const;
/** How long a node that failed to start (a dependency not up yet) is tried again before the heal fails. */
const NODE_RETRY_BOUND_MS = 30_000;
const NODE_RETRY_PAUSE_MS = 250;

/** Kills everything: the nodes with SIGKILL, the broker and the database; resolves with how it comes back. */
export async function cutPower(store: PoweredStore, random: RandomSource): Promise<PowerPlan> {
  await Promise.all([...store.nodes.map((node) => node.powerOff()), store.broker.kill(), store.database.kill()]);
  const steps: PowerStep[] = [{ what: 'broker' }, { what: 'database' }, ...store.nodes.map((node) => ({ what: 'node' as const, node }))];
  return { steps: shuffle(random, steps).map((step) => ({ step, gapMs: between(random, BOOT_GAP_MS.min, BOOT_GAP_MS.max) })) };
}

/**
 * Starts everything again as power returns: each process at its seeded offset from the last one's
 * start, not waiting for the one before to be up, as boxes on one circuit boot side by side;
 * resolves with what happened, for the fault log, and when each box's boot began. A node that
 * fails to start (a start that hung, a port not free yet) is tried again until it runs, within
 * NODE_RETRY_BOUND_MS of the power coming back. The retries are part of the repair time, not a
 * failed heal; only a process still down past the bound fails it.
 */
export async function restorePower(store: PoweredStore, plan: PowerPlan): Promise<{ readonly detail: string; readonly poweredAtMs: ReadonlyMap<string, number> }> {
  const deadline = Date.now() + NODE_RETRY_BOUND_MS;
  const notes: string[] = [];
  const poweredAtMs = new Map<string, number>();
  let offsetMs = 0;
  const starts = plan.steps.map(({ step, gapMs }) => {
    offsetMs += gapMs;
    const at = offsetMs;
    return sleep(at).then(async () => {
      if (step.what === 'broker') await store.broker.start();
      else if (step.what === 'database') await store.database.restart();
      else {
        poweredAtMs.set(step.node.id, Date.now());
        const tries = await startNode(step.node, deadline);
        if (tries > 1) notes.push(`${step.node.id} started on try ${tries}`);
      }
    });
  });
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const order = plan.steps.map(({ step, gapMs }) => `${step.what === 'node' ? step.node.id : step.what} +${gapMs} ms`).join(', ');
  return { detail: `restored in order ${order}${notes.length === 0 ? '' : `; ${notes.join(', ')}`}`, poweredAtMs };
}

/** Starts the node, trying again until it runs or the deadline passes; resolves with the number of tries. */
async function startNode(node: StoreNode, deadlineMs: number): Promise<number> {
  for (let tries = 1; ; tries++) {
    const error = await startOnce(node);
    if (error === null) return tries;
    if (Date.now() > deadlineMs) throw new Error(`${node.id} did not start again within ${NODE_RETRY_BOUND_MS / 1000} s of the power coming back (${tries} tries): ${error}`);
    await sleep(NODE_RETRY_PAUSE_MS);
  }
}

/** null once the node runs with its reader ready; else why not, with the node down again so the next try starts it afresh. */
async function startOnce(node: StoreNode): Promise<string | null> {
  try {
    await node.restart();
    return null;
  } catch (error) {
    // A start that hung rather than failed leaves a process that restart() would take for running.
    await node.kill();
    return error instanceof Error ? error.message.split('\n')[0]! : String(error);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
