import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRules } from '../authorize/rules.js';
import { type CheckResult, type PosPayment, checkExposure, checkJournalChain, checkLedger, checkReplicas, checkTotals, comparePayments, readJournal, readSqliteSales } from '../audit/store-checks.js';
import { Centre } from '../central/centre.js';
import { SqliteLedger } from '../central/sqlite-ledger.js';
import type { CardFacts } from '../card/card-facts.js';
import { type RandomSource, SeededRandom, between, pick } from '../platform/random.js';
import { type NetworkTally, SimNetwork } from './network.js';
import { SimScheduler } from './scheduler.js';
import { simCentreLink } from './sim-centre.js';
import { SimNode } from './sim-node.js';
import { forge } from './forgeries.js';
import { SimOperator } from './operator.js';
import { checkNoCardNumbersAtRest } from '../audit/card-data-check.js';
import { type RawCard, captureCard } from '../card/capture.js';
import type { CardKeys } from '../card/keys.js';
import { sodiumReady } from '../card/seal.js';
import { loadReaderProfile } from '../reader/profile.js';
import type { SimCardKind } from '../reader/simulator/cards.js';
import { ReaderSimulator } from '../reader/simulator/simulator.js';
import { SimSerialLine } from './sim-serial-line.js';
import { StoreTopics } from '../replication/topics.js';

export interface SimOptions {
  readonly seed: number;
  /** Simulated milliseconds of trading under faults (default one minute). */
  readonly durationMs?: number;
  readonly dir?: string;
  readonly keep?: boolean;
}

export const SIM_FAULTS = ['crash', 'crash-mid-payment', 'crash-mid-turn', 'torn-write', 'disk-replaced', 'reader-unplugged', 'link-cut', 'partition', 'broker-restart', 'uplink-cut', 'clock-jump', 'disk-full', 'forgery'] as const;
export type SimFault = (typeof SIM_FAULTS)[number];

export interface SimReport {
  readonly seed: number;
  readonly simulatedSeconds: number;
  readonly events: number;
  readonly faults: Partial<Record<SimFault, number>>;
  readonly network: NetworkTally;
  /** Torn writes by what reached the disk: part of the commit (SQLite must drop it) or all of it. */
  readonly tornWrites: { readonly part: number; readonly whole: number };
  /** Payments at the lanes' readers: those that ended without a decision (reader unplugged, card unreadable), by error, were tapped again. */
  readonly readers: { readonly payments: number; readonly endedWithoutDecision: Readonly<Record<string, number>>; readonly cardNumbersRead: number };
  /** Dead disks the operator replaced: from the last backup and the peers, or from the peers alone before any backup. */
  readonly restores: RestoreTally;
  /** By what the POS saw; failed: ended at the lane without a decision, and sold again as a new payment. */
  readonly payments: { readonly total: number } & Readonly<Record<PosPayment['outcome'], number>>;
  readonly checks: readonly CheckResult[];
  readonly violations: readonly string[];
  readonly ok: boolean;
}

/** A POS payment: at the lane's reader (the card read there), or with a card the POS hands over already captured. */
type SimPayment = PosPayment & { lane: string } & ({ readonly viaReader: true } | { readonly viaReader: false; readonly card: CardFacts });

/** The simulated readers' script: new customers, regulars who come back to every lane, expired, hot-listed, unreadable and slow cards. */
const READER_SCRIPT: readonly SimCardKind[] = ['good', 'regular', 'good', 'expired', 'good', 'regular', 'hot', 'slow', 'good', 'bad-luhn', 'bad-crc', 'regular'];
const READER_PROFILE = 'edgepay-sim';
const OUTCOMES: readonly PosPayment['outcome'][] = ['approved', 'declined', 'failed', 'unknown'];

interface RestoreTally {
  /** Backups the backup timer took. */
  backups: number;
  fromBackup: number;
  fromPeersOnly: number;
  /** Entries the peers gave after the backup's head, over every restore. */
  entriesFromPeers: number;
  /** Rebuild runs that failed (broker gone, link cut) and were run again. */
  failedRuns: number;
  /** The disk died only once the peers held all the box wrote: otherwise only quorum mode keeps its tail. */
  skipped: number;
  unfinished: number;
}

const NODES = ['lane-1', 'lane-2', 'lane-3'] as const;
const FLEET = 'sim';
const STORE = 'store-1';
const START_WALL_MS = Date.UTC(2026, 10, 28, 9, 0, 0);
const TICK_MS = 250;
const PER_CARD = { maxCount: 3, maxAmountMinor: 20_000 } as const;
const HEAL_LIMIT_MS = 120_000;
const BACKUP_EVERY_MS = 10_000;

/**
 * A whole store in one process on simulated time, from one seed: three nodes built from the
 * node's own parts (see SimNode) on a simulated broker, the centre on its real ledger, a POS per
 * lane, and faults from the seed: crashes and restarts, links cut, the broker restarted, the uplink
 * cut, the wall clock jumped, the disk full; every delivery lost, doubled or delayed by the seed.
 * Then everything healed, and the promises checked from the files.
 */
export async function runSimulation(options: SimOptions): Promise<SimReport> {
  const durationMs = options.durationMs ?? 60_000;
  const random = new SeededRandom(options.seed);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'edgepay-sim-'));
  mkdirSync(dir, { recursive: true });
  const scheduler = new SimScheduler(START_WALL_MS);
  const ledger = SqliteLedger.open(join(dir, 'centre', 'ledger.db'));
  try {
    const centre = new Centre({ backend: ledger, forwardDeadlineHours: 6, clock: scheduler.clock });
    const network = new SimNetwork(scheduler, random, { loss: random.int(50) / 1_000, duplicate: random.int(50) / 1_000, maxDelayMs: between(random, 1, 40) });
    const uplinkCut = new Set<string>();
    const topics = new StoreTopics(FLEET, STORE);
    const keyPairs = NODES.map(() => generateKeyPairSync('ed25519'));
    const keys = new Map(NODES.map((id, i) => [id, keyPairs[i]!.publicKey]));
    const rules = parseRules({
      version: 1,
      currencies: { EUR: { floorLimitMinor: 10_000 } },
      perCard: { windowMinutes: 1_440, maxCount: PER_CARD.maxCount, maxAmountMinor: { EUR: PER_CARD.maxAmountMinor } },
      node: { maxStoredCount: 100_000, maxStoredAmountMinor: { EUR: 1_000_000_000 }, forwardDeadlineHours: 6 },
      hotCards: { version: 0, tokens: [] },
    });
    const linkFates = { lostRequest: random.int(100) / 1_000, lostAnswer: random.int(100) / 1_000, maxDelayMs: 50, timeoutMs: 2_000 };
    // Capture as the reader actor runs it, with keys of this store; the card numbers read are kept here only, to look for them at rest.
    await sodiumReady();
    const cardKeys: CardKeys = { tokenKey: Buffer.from(random.bytes(32)), centrePublicKey: random.bytes(32) };
    const pansRead = new Set<string>();
    const profile = loadReaderProfile(READER_PROFILE);
    const lines = new Map<string, SimSerialLine>();
    const nodes = NODES.map((id, i) => {
      const nodeDir = join(dir, id);
      mkdirSync(nodeDir, { recursive: true });
      const line = new SimSerialLine(scheduler, `/dev/sim-reader-${id}`, profile.serial.baudRate, (end) => {
        const firmware = new ReaderSimulator(end, {
          profile,
          cards: READER_SCRIPT,
          seed: random.int(0x7fff_ffff),
          status: () => undefined,
          unplug: () => line.unplug(),
          timers: scheduler.timers,
          now: () => new Date(scheduler.clock.wallMs()),
          unpredictable: () => random.int(0xffff_ffff),
        });
        firmware.start();
        return firmware;
      });
      lines.set(id, line);
      const capture = (raw: RawCard): Promise<CardFacts> => {
        pansRead.add(raw.pan);
        return captureCard(raw, cardKeys);
      };
      const lane = { line, profileName: READER_PROFILE, profile, capture };
      return new SimNode({ id, dir: nodeDir, fleet: FLEET, store: STORE, rules, signingKey: keyPairs[i]!.privateKey, keys, scheduler, network, centre: simCentreLink(id, scheduler, random, centre, uplinkCut, linkFates), lane });
    });
    for (const node of nodes) node.start();
    const operator = new SimOperator({ scheduler, network, topics, keys, peerIds: (id) => NODES.filter((n) => n !== id), backupsDir: join(dir, 'backups') });
    const restores: RestoreTally = { backups: 0, fromBackup: 0, fromPeersOnly: 0, entriesFromPeers: 0, failedRuns: 0, skipped: 0, unfinished: 0 };
    const restoring = new Set<Promise<unknown>>();
    for (const node of nodes) {
      scheduler.after(between(random, 0, BACKUP_EVERY_MS), () => {
        scheduler.every(BACKUP_EVERY_MS, START_WALL_MS + durationMs, async () => {
          if (await operator.backUp(node)) restores.backups++;
        });
      });
    }
    const trading = (): boolean => scheduler.now - START_WALL_MS < durationMs;
    const replaceDisk = (node: SimNode, tries: number): void => {
      if (node.underRepair || !trading()) return;
      // Its disk dies once the peers hold all it wrote; while they are behind, a lost disk would lose its tail.
      if (!node.up || nodes.some((peer) => peer !== node && peer.replicaHead(node.id) < node.headSeq())) {
        if (tries > 0) scheduler.after(TICK_MS, () => replaceDisk(node, tries - 1));
        else restores.skipped++;
        return;
      }
      const done = operator
        .replaceDisk(node)
        .then((replaced) => {
          restores[replaced.restoredHeadSeq === null ? 'fromPeersOnly' : 'fromBackup']++;
          restores.entriesFromPeers += replaced.report.entries;
          restores.failedRuns += replaced.failedRuns;
        })
        .catch(() => {
          restores.unfinished++;
        })
        .finally(() => restoring.delete(done));
      restoring.add(done);
    };

    const cards = cardPool(random);
    const payments = new Map<string, SimPayment>();
    const requestOf = (payment: SimPayment & { card: CardFacts }): Record<string, unknown> => ({ idempotencyKey: payment.key, amountMinor: payment.amountMinor, currency: 'EUR', card: payment.card, lane: payment.lane, reference: payment.key });
    let issued = 0;
    const base = (node: SimNode) => ({ node: node.id, key: `${node.id}-${issued++}`, amountMinor: between(random, 100, 9_000), outcome: 'unknown' as const, code: null, mode: null, attempts: 0, lane: node.id });
    const newPayment = (node: SimNode, card: CardFacts): SimPayment & { card: CardFacts } => {
      const payment = { ...base(node), viaReader: false as const, card };
      payments.set(payment.key, payment);
      return payment;
    };
    const readerTally = { payments: 0, endedWithoutDecision: {} as Record<string, number> };
    /** Requests whose answer is still on its way to the POS: the store has not settled while there are any. */
    let awaitingAnswers = 0;
    const pay = (node: SimNode, payment: SimPayment & { card: CardFacts }): void => {
      payment.attempts++;
      awaitingAnswers++;
      const sent = node.pay(requestOf(payment));
      sent
        .then((outcome) => {
          // The answer reaches the POS a hop later, unless the box died meanwhile.
          if (outcome === undefined || outcome.entry === null) return void awaitingAnswers--;
          scheduler.after(between(random, 0, 5), () => {
            awaitingAnswers--;
            if (!node.up) return;
            payment.outcome = outcome.decision.approved ? 'approved' : 'declined';
            payment.code = outcome.decision.code;
            payment.mode = outcome.decision.mode;
          });
        })
        .catch(() => {
          awaitingAnswers--;
        });
    };
    /**
     * A sale at the lane's reader, as a till runs it: one at a time, and a sale that ended without a
     * decision (reader gone, card unreadable, box down) is tapped again, same key, until it has one.
     */
    const newReaderPayment = (node: SimNode, amountMinor?: number): SimPayment => {
      const payment = { ...base(node), ...(amountMinor === undefined ? {} : { amountMinor }), viaReader: true as const };
      payments.set(payment.key, payment);
      readerTally.payments++;
      return payment;
    };
    const endedWithoutDecision = (why: string): void => {
      readerTally.endedWithoutDecision[why] = (readerTally.endedWithoutDecision[why] ?? 0) + 1;
    };
    /**
     * A sale at the lane's reader, as a till runs it, one at a time. No answer (the box down or dying):
     * asked again with the same key until it has one. Ended without a decision (reader gone, card
     * unreadable): that payment is over, and the sale is tried again as a new payment.
     */
    const payAtLane = (node: SimNode, payment: SimPayment, done: () => void): void => {
      payment.attempts++;
      awaitingAnswers++;
      const later = (run: () => void): void => {
        // Still owed an answer: the store has not settled while the customer waits to tap again.
        scheduler.after(between(random, 300, 2_000), () => {
          awaitingAnswers--;
          run();
        });
      };
      const askAgain = (why: string): void => {
        endedWithoutDecision(why);
        later(() => payAtLane(node, payment, done));
      };
      node
        .payAtLane({ idempotencyKey: payment.key, lane: payment.lane, amountMinor: payment.amountMinor, currency: 'EUR', reference: payment.key })
        .then((answer) => {
          if (answer === undefined) return askAgain('box down');
          const decision = answer.decision;
          if (decision === null) {
            payment.outcome = 'failed';
            payment.code = answer.error?.code ?? answer.status;
            endedWithoutDecision(payment.code);
            return later(() => payAtLane(node, newReaderPayment(node, payment.amountMinor), done));
          }
          scheduler.after(between(random, 0, 5), () => {
            // The request still counts as owed until the retry runs.
            if (!node.up) return askAgain('box died before answering');
            awaitingAnswers--;
            payment.outcome = decision.approved ? 'approved' : 'declined';
            payment.code = decision.code;
            payment.mode = decision.mode;
            done();
          });
        })
        .catch((error: unknown) => askAgain((error as { code?: string }).code ?? 'box died before answering'));
    };
    for (const node of nodes) {
      const nextAtReader = (): void => {
        if (!trading()) return;
        payAtLane(node, newReaderPayment(node), () => scheduler.after(between(random, 20, 400), nextAtReader));
      };
      scheduler.after(between(random, 0, 100), nextAtReader);
      const next = (): void => {
        if (!trading()) return;
        // A third of the customers are regulars, seen at every lane; the rest come once.
        const card = random.int(3) === 0 ? pick(random, cards) : oneCard(random, issued);
        pay(node, newPayment(node, card));
        scheduler.after(between(random, 100, 800), next);
      };
      scheduler.after(between(random, 0, 100), next);
      scheduler.every(TICK_MS, START_WALL_MS + durationMs + HEAL_LIMIT_MS, () => node.tick());
    }

    const faults: Partial<Record<SimFault, number>> = {};
    const tornWrites = { part: 0, whole: 0 };
    const inject = async (): Promise<void> => {
      if (!trading()) return;
      const kind = pick(random, SIM_FAULTS);
      const node = pick(random, nodes);
      const holdMs = between(random, 200, 5_000);
      faults[kind] = (faults[kind] ?? 0) + 1;
      switch (kind) {
        case 'crash':
          node.crash();
          scheduler.after(holdMs, () => node.start());
          break;
        case 'crash-mid-payment':
          // The box dies with a payment handed to its group commit and not yet written: no answer may have gone out.
          pay(node, newPayment(node, pick(random, cards)));
          node.crash();
          scheduler.after(holdMs, () => node.start());
          break;
        case 'crash-mid-turn': {
          // Killed inside whatever runs next (a delivery, a commit, an answer from the centre), between two of its steps.
          const within = between(random, 0, 1_000);
          // Faults end with trading: the heal must find every box it starts still running.
          scheduler.interrupt(within, random.int(SimScheduler.turnsPerEvent), () => trading() && node.crash());
          scheduler.after(within + TICK_MS + holdMs, () => node.start());
          break;
        }
        case 'torn-write': {
          const payment = newPayment(node, pick(random, cards));
          payment.attempts++;
          const torn = await node.crashTearing(requestOf(payment), random);
          if (torn !== undefined) tornWrites[torn.whole ? 'whole' : 'part']++;
          scheduler.after(holdMs, () => node.start());
          break;
        }
        case 'link-cut':
          network.cut(node.id);
          scheduler.after(holdMs, () => network.heal(node.id));
          break;
        case 'disk-replaced':
          replaceDisk(node, 20);
          break;
        case 'reader-unplugged': {
          const line = lines.get(node.id)!;
          line.unplug();
          scheduler.after(holdMs, () => line.replug());
          break;
        }
        case 'partition': {
          const other = pick(random, nodes.filter((n) => n !== node));
          network.cutBetween(node.id, other.id);
          scheduler.after(holdMs, () => network.healBetween(node.id, other.id));
          break;
        }
        case 'broker-restart':
          network.stopBroker();
          scheduler.after(holdMs, () => network.startBroker());
          break;
        case 'uplink-cut':
          uplinkCut.add(node.id);
          scheduler.after(holdMs, () => {
            uplinkCut.delete(node.id);
          });
          break;
        case 'clock-jump': {
          // Wall time only, as NTP stepping the clock would: backwards or forwards by up to ten minutes.
          scheduler.clock.setWallMs(scheduler.clock.wallMs() + between(random, -600_000, 600_000));
          break;
        }
        case 'disk-full':
          node.fillDisk();
          scheduler.after(holdMs, () => node.freeDisk());
          break;
        case 'forgery': {
          const forged = forge(random, topics, scheduler.clock, node.id, keyPairs[nodes.indexOf(node)]!.privateKey, node.lastEntry());
          network.inject(forged.topic, forged.payload, forged.owner);
          break;
        }
      }
      scheduler.after(between(random, 500, 4_000), inject);
    };
    scheduler.after(between(random, 500, 2_000), inject);

    await scheduler.runUntil(START_WALL_MS + durationMs);
    // Heal: every box up, every link whole, the broker up; the POS asks again for what it did not hear.
    network.startBroker();
    network.healAllPairs();
    uplinkCut.clear();
    for (const line of lines.values()) line.replug();
    for (const node of nodes) {
      node.freeDisk();
      network.heal(node.id);
      if (!node.up) node.start();
    }
    const healDeadline = scheduler.now + HEAL_LIMIT_MS;
    // A box the operator is rebuilding comes back when they are done.
    while (scheduler.now < healDeadline && restoring.size > 0) await scheduler.runUntil(scheduler.now + 1_000);
    for (const node of nodes) if (!node.up) node.start();
    for (const payment of payments.values()) {
      // Sales at a reader are tapped again until decided; a captured card's sale is asked again once.
      if (payment.outcome === 'unknown' && !payment.viaReader) pay(nodes.find((n) => n.id === payment.node)!, payment);
    }
    while (scheduler.now < healDeadline && (awaitingAnswers > 0 || !(await converged(nodes, ledger)))) await scheduler.runUntil(scheduler.now + 1_000);
    const events = scheduler.events;
    const origins = new Set(nodes.flatMap((n) => n.replicaOrigins()));
    for (const node of nodes) node.stop();

    const journals = new Map(nodes.map((n) => [n.id, readJournal(n.journalPath, n.id)]));
    const all = [...payments.values()];
    const checks: CheckResult[] = [
      ...nodes.map((n) => checkJournalChain(n.id, n.journalPath)),
      checkReplicas(
        nodes.map((n) => ({ id: n.id, journalPath: n.journalPath, replicasPath: n.replicasPath })),
        journals,
      ),
      await checkTotals(ledger, journals),
      await checkLedger(ledger),
      ...comparePayments(all, readSqliteSales(join(dir, 'centre', 'ledger.db'))),
      checkExposure(journals, PER_CARD),
      checkForgeries(nodes, network.tally, origins),
      checkNoCardNumbersAtRest([dir], pansRead),
      {
        check: 'every box whose disk died is back in service, from its backup and its peers',
        ok: restores.unfinished + restoring.size === 0,
        detail: `${restores.fromBackup} from a backup and the peers (${restores.entriesFromPeers} entries from the peers), ${restores.fromPeersOnly} from the peers alone; ${restores.unfinished + restoring.size} unfinished`,
      },
    ];
    const violations = checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`);
    return {
      seed: options.seed,
      simulatedSeconds: Math.round((scheduler.now - START_WALL_MS) / 100) / 10,
      events,
      faults,
      network: network.tally,
      tornWrites,
      readers: { ...readerTally, cardNumbersRead: pansRead.size },
      restores: { ...restores, unfinished: restores.unfinished + restoring.size },
      payments: { total: all.length, ...Object.fromEntries(OUTCOMES.map((o) => [o, all.filter((p) => p.outcome === o).length])) } as SimReport['payments'],
      checks,
      violations,
      ok: violations.length === 0,
    };
  } finally {
    await ledger.close();
    if (options.keep !== true) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * P8: whatever an intruder sends is rejected, counted and never stored. Honest messages are never
 * rejected, so the rejections counted must equal the forged deliveries examined, one for one; and
 * no node keeps a replica of a node outside the fleet.
 */
function checkForgeries(nodes: readonly SimNode[], tally: NetworkTally, origins: ReadonlySet<string>): CheckResult {
  const rejected = nodes.reduce((sum, n) => sum + REJECTIONS.reduce((s, reason) => s + n.counters.get(reason), 0), 0);
  const strangers = [...origins].filter((o) => !nodes.some((n) => n.id === o));
  const ok = strangers.length === 0 && rejected === tally.injectedDelivered;
  return {
    check: 'only the fleet speaks: forged messages rejected, counted, never stored',
    ok,
    detail: `${tally.injected} forged messages, ${tally.injectedDelivered} deliveries, ${rejected} rejections counted${strangers.length > 0 ? `; replicas of ${strangers.join(', ')}` : ''}`,
  };
}

const REJECTIONS = ['malformed', 'unknown_key', 'bad_signature', 'bad_hash', 'wrong_topic'] as const;

async function converged(nodes: readonly SimNode[], ledger: SqliteLedger): Promise<boolean> {
  for (const origin of nodes) {
    const head = origin.headSeq();
    if (head < 0 || (await ledger.headOf(origin.id)) < head) return false;
    if (nodes.some((holder) => holder !== origin && holder.replicaHead(origin.id) < head)) return false;
  }
  return true;
}

/** Forty regulars who come back to every lane, so per-card limits and shared exposure bite. */
function cardPool(random: RandomSource): CardFacts[] {
  return Array.from({ length: 40 }, (_, n) => oneCard(random, n));
}

/** A card as capture hands it over: a keyed token, BIN, last 4 and a sealed blob, never the PAN. */
function oneCard(random: RandomSource, n: number): CardFacts {
  return {
    token: Buffer.from(random.bytes(32)).toString('base64url'),
    bin: '400000',
    last4: String(1000 + (n % 9000)),
    expiryYear: 2029,
    expiryMonth: 12,
    checkDigitValid: true,
    sealed: random.bytes(80),
  };
}
