import { makeRunDir } from '../rigs/run-dir.js';
import { peerHead } from '../rigs/store/store-node.js';
import { journalHeadOf } from '../journal/journal-reader.js';
import { type CheckResult, checkStore } from '../audit/store-checks.js';
import { join } from 'node:path';
import { BackupTimer } from './box-replacement.js';
import { type ChaosStore, PER_CARD, startChaosStore } from './chaos-store.js';
import { FAULT_KINDS, type FaultKind, FaultInjector, type FaultRecord } from './faults.js';
import { POS_LANE, PosLoad, type PosTally, SERVED_WITHIN_MS } from './pos-load.js';
import { type RequestOutcome, laneKey } from './pos-request.js';
import { type AvailabilityReport, computeAvailability } from './availability.js';
import { SeededRandom } from '../platform/random.js';

export interface ChaosOptions {
  readonly minutes: number;
  readonly seed: number;
  /** One fault starts this many seconds after the one before; by default 0.3–2 s after each heal. */
  readonly faultEverySeconds?: number;
  /** Only these kinds of fault; every kind by default. */
  readonly kinds?: readonly FaultKind[];
  readonly dir?: string;
  readonly keep?: boolean;
  readonly progress?: (line: string) => void;
}

export interface ChaosReport {
  readonly chaos: 'store';
  readonly seed: number;
  readonly minutes: number;
  /** The fault pace asked for; null for the default (a fault 0.3–2 s after each heal). */
  readonly faultEverySeconds: number | null;
  readonly durationSeconds: number;
  readonly faults: {
    readonly injected: number;
    readonly byKind: Partial<Record<FaultKind, number>>;
    /** Kinds left out on this machine, with the reason. */
    readonly unavailable: Partial<Record<FaultKind, string>>;
    readonly log: readonly FaultRecord[];
  };
  readonly payments: PosTally;
  /** The backup timer's copies, which a box whose disk died was restored from. */
  readonly backups: { readonly taken: number; readonly failed: number };
  /** Every request the POS sent while trading, by what it came to. */
  readonly requests: {
    readonly logged: number;
    readonly byOutcome: Partial<Record<RequestOutcome, number>>;
  };
  /** Availability from the POS's side: per lane, per kind of fault, overall and for the store. */
  readonly availability: AvailabilityReport<FaultKind>;
  readonly checks: readonly CheckResult[];
  readonly violations: readonly string[];
  readonly ok: boolean;
}

/** The boxes' backup timer, nightly in a store, every few seconds in a round of minutes. */
const BACKUP_EVERY_MS = 60_000;
/** After the faults stop: how long the healed store has to answer the POS and drain to the centre. */
const SETTLE_MS = 90_000;
const CONVERGE_MS = 120_000;
/** The POS goes on trading this long after the last fault is healed, so the lanes' repair from it is seen too. */
const TAIL_MS = 5_000;

/**
 * Faults no one scripted on a real store: a seeded schedule of kills, pauses, broker and database
 * crashes, network cuts, full disks, unplugged readers, dead disks and power cuts while the POS pays, then
 * everything healed and the store checked from its journals, replicas and the centre's database;
 * with availability as the POS saw it, from its request log and the fault log.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const progress = options.progress ?? (() => undefined);
  const started = Date.now();
  const random = new SeededRandom(options.seed);
  const dir = makeRunDir(options.dir);
  let store: ChaosStore | undefined;
  try {
    progress(`data directory ${dir.path}, seed ${options.seed}`);
    store = await startChaosStore(dir.path, options.seed, progress);
    const unavailable: Partial<Record<FaultKind, string>> = store.diskUnavailable === null ? {} : { 'disk-full': store.diskUnavailable };
    const kinds = (options.kinds ?? FAULT_KINDS).filter((kind) => unavailable[kind] === undefined);
    const pos = new PosLoad(
      store.boxes.map((b) => b.node),
      random,
    );
    const faultEveryMs = options.faultEverySeconds === undefined ? undefined : options.faultEverySeconds * 1_000;
    const backups = new BackupTimer(
      store.boxes.map((b) => b.node),
      join(dir.path, 'backups'),
      BACKUP_EVERY_MS,
    );
    // Last night's copy, before the store opens.
    await backups.backUpAll();
    const faults = new FaultInjector({ boxes: store.boxes, broker: store.broker, database: store.database, backups }, random, kinds, faultEveryMs);
    progress(`trading for ${options.minutes} min under faults: ${kinds.join(', ')}${unavailable['disk-full'] === undefined ? '' : ` (disk-full left out: ${unavailable['disk-full']})`}`);
    const roundStartMs = Date.now();
    pos.start();
    backups.start();
    faults.start();
    await new Promise((resolve) => setTimeout(resolve, options.minutes * 60_000));
    await faults.stop();
    await backups.stop();
    await new Promise((resolve) => setTimeout(resolve, TAIL_MS));
    const roundEndMs = Date.now();
    await pos.stop();
    progress(`faults ${JSON.stringify(faults.counts())}; payments ${JSON.stringify(pos.tally())}`);
    const availability = computeAvailability({
      requests: pos.requests,
      faults: faults.records,
      lanes: store.boxes.map((b) => laneKey({ box: b.node.id, lane: POS_LANE })),
      kinds,
      roundStartMs,
      roundEndMs,
      timeoutMs: SERVED_WITHIN_MS,
    });

    progress('healing everything, asking again for every payment the POS did not hear back on');
    const violations: string[] = faults.records.filter((r) => r.healError !== null).map((r) => `healing ${r.kind} on ${r.target ?? 'the store'} failed: ${r.healError}`);
    violations.push(...backups.failures.map((failure) => `the backup timer failed on a running box: ${failure}`));
    violations.push(...(await healAll(store)));
    await pos.settle(Date.now() + SETTLE_MS);
    progress("waiting until every peer and the centre hold every box's journal");
    const converged = await untilConverged(store, Date.now() + CONVERGE_MS);
    if (converged !== null) violations.push(converged);
    for (const box of store.boxes) await box.node.stop();

    progress("checking the journals, the replicas and the centre's database");
    const checks = await checkStore({
      nodes: store.boxes.map((b) => ({ id: b.node.id, journalPath: b.node.journalPath, replicasPath: store!.replicasPath(b.node) })),
      ledger: store.ledger,
      databaseUrl: store.database.url,
      payments: [...pos.payments.values()],
      perCard: PER_CARD,
    });
    violations.push(...checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`));
    return {
      chaos: 'store',
      seed: options.seed,
      minutes: options.minutes,
      faultEverySeconds: options.faultEverySeconds ?? null,
      durationSeconds: Math.round((Date.now() - started) / 100) / 10,
      faults: { injected: faults.records.length, byKind: faults.counts(), unavailable, log: faults.records },
      payments: pos.tally(),
      backups: { taken: backups.taken, failed: backups.failures.length },
      requests: { logged: pos.requests.length, byOutcome: countBy(pos.requests.map((r) => r.outcome)) },
      availability,
      checks,
      violations,
      ok: violations.length === 0,
    };
  } finally {
    await store?.close();
    dir.release(options.keep === true);
  }
}

/** Every box running and reachable, the broker and the database up, every disk with room. */
async function healAll(store: ChaosStore): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, heal: () => Promise<void> | void): Promise<void> => {
    try {
      await heal();
    } catch (error) {
      problems.push(`cannot heal ${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  await attempt('the broker', () => store.broker.start());
  await attempt('the database', async () => {
    if (!(await databaseUp(store))) await store.database.restart();
  });
  for (const box of store.boxes) {
    await attempt(`${box.node.id}'s disk`, () => box.disk?.free());
    await attempt(`${box.node.id}'s reader`, () => box.node.replugReader());
    box.gate.unblock();
    box.node.resume();
    await attempt(`${box.node.id}`, () => box.node.restart());
  }
  return problems;
}

function countBy<T extends string>(values: readonly T[]): Partial<Record<T, number>> {
  const counts: Partial<Record<T, number>> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

async function databaseUp(store: ChaosStore): Promise<boolean> {
  return store.ledger
    .headOf('-')
    .then(() => true)
    .catch(() => false);
}

/** null once every peer's replica and the centre hold each box's journal head; else what is missing. */
async function untilConverged(store: ChaosStore, deadlineMs: number): Promise<string | null> {
  for (;;) {
    const missing: string[] = [];
    for (const box of store.boxes) {
      const head = journalHeadOf(box.node.journalPath, box.node.id);
      const atCentre = await store.ledger.headOf(box.node.id).catch(() => -1);
      if (atCentre < head) missing.push(`centre holds ${atCentre} of ${box.node.id}'s ${head}`);
      for (const peer of store.boxes) {
        if (peer === box) continue;
        const held = await peerHead(peer.node.statusUrl, box.node.id);
        if (held < head) missing.push(`${peer.node.id} holds ${held} of ${box.node.id}'s ${head}`);
      }
    }
    if (missing.length === 0) return null;
    if (Date.now() > deadlineMs) return `the store did not converge within ${CONVERGE_MS / 1000} s: ${missing.join('; ')}`;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
