import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RulesConfig } from '../rules/rules.js';
import { checkNoCardNumbersAtRest } from '../audit/card-data-check.js';
import { type CheckResult, type PosPayment, checkExposure, checkJournalChain, checkLedger, checkReplicas, checkTotals, comparePayments, readJournal, readSqliteSales } from '../audit/store-checks.js';
import { Centre } from '../central/centre.js';
import { SqliteLedger } from '../central/sqlite-ledger.js';
import { type RawCard, captureCard } from '../card/capture.js';
import type { CardFacts } from '../card/card-facts.js';
import type { CardKeys } from '../card/keys.js';
import { sodiumReady } from '../card/seal.js';
import { type RandomSource, SeededRandom, between } from '../platform/random.js';
import { type ReaderProfile, loadReaderProfile } from '../reader/profile.js';
import type { SimCardKind } from '../reader/simulator/cards.js';
import { ReaderSimulator } from '../reader/simulator/simulator.js';
import type { ReaderSecrets } from '../reader/simulator/secure-reader.js';
import { readerKeyPairFromSeed } from '../reader/protocol/index.js';
import { StoreTopics } from '../wire/topics.js';
import { FaultInjector, type RestoreTally, type SimFault } from './fault-injector.js';
import { type NetworkTally, SimNetwork } from './network.js';
import { SimOperator } from './operator.js';
import { SimScheduler } from './scheduler.js';
import { simCentreLink } from './sim-centre.js';
import type { DoubledTally } from './lane-requests.js';
import { checkDoubledRequests, checkForgeries, deadDisksOf, checkOneKeyOnePayment, checkRestores, checkResultsShown, checkRulesConverged, converged, rulesConverged } from './sim-checks.js';
import { SimRulesUpdates } from './rules-updates.js';
import { SimNode } from './sim-node.js';
import { OUTCOMES, type ReaderTally, SimPos } from './sim-pos.js';
import { SimSerialLine } from './sim-serial-line.js';

export { SIM_FAULTS, type SimFault } from './fault-injector.js';

export interface SimOptions {
  readonly seed: number;
  /** Simulated milliseconds of trading under faults (default one minute). */
  readonly durationMs?: number;
  readonly dir?: string;
  readonly keep?: boolean;
}

export interface SimReport {
  readonly seed: number;
  readonly simulatedSeconds: number;
  readonly events: number;
  readonly faults: Partial<Record<SimFault, number>>;
  readonly network: NetworkTally;
  /** Torn writes by what reached the disk: part of the commit (SQLite must drop it) or all of it. */
  readonly tornWrites: { readonly part: number; readonly whole: number };
  /**
   * Payments at the lanes' readers: those that ended without a decision (reader unplugged, card
   * unreadable), by error, were tapped again. resultsShown: SHOW_RESULTs the lanes asked for;
   * resultsDisplayed: those the readers' firmware put on its display.
   */
  readonly readers: Readonly<ReaderTally> & {
    readonly cardNumbersRead: number;
    readonly lanes: number;
    readonly secureLanes: number;
    readonly capturedOnNode: number;
    readonly resultsShown: number;
    readonly resultsDisplayed: number;
  };
  /** Sales sent again under their key from the box's other till: joined (same body), refused (another lane or amount). */
  readonly doubled: Readonly<DoubledTally>;
  /** Dead disks the operator replaced: from the last backup and the peers, or from the peers alone before any backup. */
  readonly restores: RestoreTally;
  /** Entries the boxes forwarded to the centre on behalf of peers silent past the custody deadline. */
  readonly custodyForwarded: number;
  /** Decisions answered once a majority of the reachable peers held them, and those that went out local-only. */
  readonly quorum: { readonly reached: number; readonly localOnly: number };
  /** By what the POS saw; failed: ended at the lane without a decision, and sold again as a new payment. */
  readonly payments: { readonly total: number } & Readonly<Record<PosPayment['outcome'], number>>;
  readonly checks: readonly CheckResult[];
  readonly violations: readonly string[];
  readonly ok: boolean;
}

/** The simulated readers' script: new customers, regulars who come back to every lane, expired, hot-listed, unreadable and slow cards. */
const READER_SCRIPT: readonly SimCardKind[] = ['good', 'regular', 'good', 'expired', 'good', 'regular', 'hot', 'slow', 'good', 'bad-luhn', 'bad-crc', 'regular'];
const READER_PROFILE = 'edgepay-sim';
/** The firmware's event line for a result it displays (ReaderSimulator, on SHOW_RESULT of its running transaction). */
const SHOWING = /^txn \d+: showing (APPROVED|DECLINED) /;

const NODES = ['lane-1', 'lane-2', 'lane-3'] as const;
/** Lanes per box, each with its own reader on its own serial line, all run by the box's one lane service. */
const LANES_PER_BOX = 2;
const FLEET = 'sim';
const STORE = 'store-1';
const START_WALL_MS = Date.UTC(2026, 10, 28, 9, 0, 0);
/** Each node's periodic work (status, repair, the outbox's poll, forwarding). */
const TICK_MS = 250;
const PER_CARD = { maxCount: 3, maxAmountMinor: 20_000 } as const;
const HEAL_LIMIT_MS = 120_000;
const BACKUP_EVERY_MS = 10_000;
const RULES: RulesConfig = {
  version: 1,
  currencies: { EUR: { floorLimitMinor: 10_000 } },
  perCard: { windowMinutes: 1_440, maxCount: PER_CARD.maxCount, maxAmountMinor: { EUR: PER_CARD.maxAmountMinor } },
  node: { maxStoredCount: 100_000, maxStoredAmountMinor: { EUR: 1_000_000_000 }, forwardDeadlineHours: 6 },
  hotCards: { version: 0, tokens: [] },
};
/** Rules updates the centre publishes during the trading, each hot-listing one more token. */
const RULES_UPDATES = 3;

/**
 * A whole store in one process on simulated time, from one seed: three nodes built from the
 * node's own parts (see SimNode), each with two lanes whose card readers sit on simulated serial
 * lines of their own, on a simulated broker; the centre on its real ledger; the store's tills
 * (SimPos); the operator's backups and restores (SimOperator); and the seed's faults
 * (FaultInjector). Then everything healed, and the promises checked from the files.
 */
export async function runSimulation(options: SimOptions): Promise<SimReport> {
  const durationMs = options.durationMs ?? 60_000;
  const random = new SeededRandom(options.seed);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'edgepay-sim-'));
  mkdirSync(dir, { recursive: true });
  const scheduler = new SimScheduler(START_WALL_MS);
  const ledger = SqliteLedger.open(join(dir, 'centre', 'ledger.db'));
  try {
    const keyPairs = new Map(NODES.map((id) => [id, generateKeyPairSync('ed25519')]));
    // Provisioned as an operator would: every node of the store registered at the centre with its key.
    for (const [nodeId, pair] of keyPairs) {
      await ledger.registerNode({ nodeId, store: STORE, publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() }, START_WALL_MS);
    }
    const centre = new Centre({ backend: ledger, forwardDeadlineHours: 6, clock: scheduler.clock });
    const network = new SimNetwork(scheduler, random, { loss: random.int(50) / 1_000, duplicate: random.int(50) / 1_000, maxDelayMs: between(random, 1, 40) });
    const uplinkCut = new Set<string>();
    const topics = new StoreTopics(FLEET, STORE);
    const keys = new Map(NODES.map((id) => [id, keyPairs.get(id)!.publicKey]));
    const linkFates = { lostRequest: random.int(100) / 1_000, lostAnswer: random.int(100) / 1_000, maxDelayMs: 50, timeoutMs: 2_000 };
    // Capture as the reader actor runs it, with keys of this store; the card numbers read are kept here only, to look for them at rest.
    await sodiumReady();
    const cardKeys: CardKeys = { tokenKey: Buffer.from(random.bytes(32)), centrePublicKey: random.bytes(32) };
    const pansRead = new Set<string>();
    // Only 1.0 lanes capture on the node: a secure lane's reader sends the card tokenized and sealed.
    let capturedOnNode = 0;
    const capture = (raw: RawCard): Promise<CardFacts> => {
      capturedOnNode++;
      return captureCard(raw, cardKeys);
    };
    const profile = loadReaderProfile(READER_PROFILE);
    // Results on each reader's display, counted by its firmware.
    const displayed = new Map<string, number>();
    const laneIds = new Map(NODES.map((id) => [id, Array.from({ length: LANES_PER_BOX }, (_, n) => `${id}.${n + 1}`)]));
    // About half the lanes pin a reader that runs secure sessions (protocol 1.1); the others take 1.0 readers.
    const secureReaders = new Map(
      [...laneIds.values()].flat().flatMap((lane) => (random.int(2) === 0 ? [[lane, { seed: random.bytes(32), tokenKey: cardKeys.tokenKey, centrePublicKey: cardKeys.centrePublicKey }] as const] : [])),
    );
    const firmware = (lane: string): FirmwareOptions => ({
      displayed: () => displayed.set(lane, (displayed.get(lane) ?? 0) + 1),
      onCardRead: (pan) => pansRead.add(pan),
      ...(secureReaders.has(lane) ? { secrets: secureReaders.get(lane)! } : {}),
    });
    const lines = new Map(NODES.map((id) => [id, laneIds.get(id)!.map((lane) => readerLine(lane, profile, scheduler, random, firmware(lane)))]));
    const rulesKeys = generateKeyPairSync('ed25519');
    const rulesUpdates = new SimRulesUpdates({ scheduler, network, random, topics, scope: { fleet: FLEET, store: STORE }, rulesKey: rulesKeys.privateKey, configured: RULES });
    rulesUpdates.schedule(RULES_UPDATES, durationMs);
    const nodes = NODES.map((id) => {
      const nodeDir = join(dir, id);
      mkdirSync(nodeDir, { recursive: true });
      const centreLink = simCentreLink(id, scheduler, random, centre, uplinkCut, linkFates);
      const lanes = laneIds.get(id)!.map((lane, n) => {
        const secrets = secureReaders.get(lane);
        const pinned = secrets === undefined ? {} : { readerPublicKey: Buffer.from(readerKeyPairFromSeed(secrets.seed).publicKey).toString('base64') };
        return { id: lane, line: lines.get(id)![n]!, profileName: READER_PROFILE, profile, capture, ...pinned };
      });
      return new SimNode({
        id,
        dir: nodeDir,
        fleet: FLEET,
        store: STORE,
        rules: RULES,
        rulesPublicKey: rulesKeys.publicKey,
        signingKey: keyPairs.get(id)!.privateKey,
        keys,
        scheduler,
        network,
        centre: centreLink,
        lanes,
      });
    });
    for (const node of nodes) node.start();

    const trading = (): boolean => scheduler.now - START_WALL_MS < durationMs;
    const operator = new SimOperator({ scheduler, network, topics, keys, peerIds: (id) => NODES.filter((n) => n !== id), backupsDir: join(dir, 'backups') });
    operator.scheduleBackups(nodes, BACKUP_EVERY_MS, START_WALL_MS + durationMs, random);
    const pos = new SimPos(scheduler, random);
    for (const node of nodes) {
      pos.openTills(node, trading);
      scheduler.every(TICK_MS, START_WALL_MS + durationMs + HEAL_LIMIT_MS, () => node.tick());
    }
    const signingKeys = new Map(NODES.map((id) => [id, keyPairs.get(id)!.privateKey]));
    const faults = new FaultInjector({ scheduler, random, nodes, network, lines, uplinkCut, operator, pos, topics, signingKeys, trading });
    faults.start();

    await scheduler.runUntil(START_WALL_MS + durationMs);
    // Heal: every box up, every link whole, the broker up, the readers plugged in.
    network.startBroker();
    network.healAllPairs();
    uplinkCut.clear();
    for (const line of [...lines.values()].flat()) line.replug();
    for (const node of nodes) {
      node.freeDisk();
      network.heal(node.id);
      node.start();
    }
    const healDeadline = scheduler.now + HEAL_LIMIT_MS;
    // A box the operator is rebuilding comes back when they are done.
    while (scheduler.now < healDeadline && faults.restoresUnderway > 0) await scheduler.runUntil(scheduler.now + 1_000);
    for (const node of nodes) node.start();
    // The POS asks again for what it did not hear; then the store runs until it has settled.
    pos.askAgainUnanswered(nodes);
    while (scheduler.now < healDeadline && (pos.answersOwed > 0 || !(await converged(nodes, ledger)) || !rulesConverged(nodes, rulesUpdates.target))) await scheduler.runUntil(scheduler.now + 1_000);
    const events = scheduler.events;
    const origins = new Set(nodes.flatMap((n) => n.replicaOrigins()));
    // Read while the boxes still run: the rules a box decides with live in its journal writer.
    const rulesCheck = checkRulesConverged(nodes, rulesUpdates.target);
    for (const node of nodes) node.stop();

    const journals = new Map(nodes.map((n) => [n.id, readJournal(n.journalPath, n.id)]));
    const payments = pos.all();
    const restores = faults.restores();
    const checks: CheckResult[] = [
      ...nodes.map((n) => checkJournalChain(n.id, n.journalPath)),
      checkReplicas(
        nodes.map((n) => ({ id: n.id, journalPath: n.journalPath, replicasPath: n.replicasPath })),
        journals,
      ),
      await checkTotals(ledger, journals),
      await checkLedger(ledger),
      ...comparePayments(payments, readSqliteSales(join(dir, 'centre', 'ledger.db'))),
      checkExposure(journals, PER_CARD),
      checkForgeries(nodes, network.tally, origins),
      checkNoCardNumbersAtRest([dir], pansRead),
      checkRestores(restores),
      checkOneKeyOnePayment(pos.requests.all(), journals, deadDisksOf(nodes)),
      checkDoubledRequests(pos.requests.all(), deadDisksOf(nodes)),
      checkResultsShown(nodes, journals, displayed, deadDisksOf(nodes)),
      rulesCheck,
    ];
    const violations = checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`);
    return {
      seed: options.seed,
      simulatedSeconds: Math.round((scheduler.now - START_WALL_MS) / 100) / 10,
      events,
      faults: faults.faults,
      network: network.tally,
      tornWrites: faults.tornWrites,
      readers: {
        ...pos.readers,
        cardNumbersRead: pansRead.size,
        lanes: nodes.reduce((sum, n) => sum + n.laneIds.length, 0),
        secureLanes: secureReaders.size,
        capturedOnNode,
        resultsShown: nodes.reduce((sum, n) => sum + n.resultsShown.length, 0),
        resultsDisplayed: [...displayed.values()].reduce((sum, n) => sum + n, 0),
      },
      doubled: { ...pos.requests.doubled },
      restores,
      custodyForwarded: nodes.reduce((sum, node) => sum + node.custodyForwarded, 0),
      quorum: {
        reached: nodes.reduce((sum, node) => sum + node.counters.get('quorum_reached'), 0),
        localOnly: nodes.reduce((sum, node) => sum + node.counters.get('quorum_local_only'), 0),
      },
      payments: { total: payments.length, ...Object.fromEntries(OUTCOMES.map((o) => [o, payments.filter((p) => p.outcome === o).length])) } as SimReport['payments'],
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
 * A lane's reader on its own serial line, with the simulated firmware booted on its end at the
 * start and after each replug; `displayed` hears each result the firmware puts on its display.
 */
interface FirmwareOptions {
  /** Hears each result the firmware puts on its display. */
  readonly displayed: () => void;
  /** Hears each card number the firmware reads: what the at-rest check searches the boxes' files for. */
  readonly onCardRead: (pan: string) => void;
  /** The reader's keys for secure sessions; a 1.0 reader without them. */
  readonly secrets?: ReaderSecrets;
}

function readerLine(laneId: string, profile: ReaderProfile, scheduler: SimScheduler, random: RandomSource, options: FirmwareOptions): SimSerialLine {
  const line: SimSerialLine = new SimSerialLine(scheduler, `/dev/sim-reader-${laneId}`, profile.serial.baudRate, (end) => {
    const firmware = new ReaderSimulator(end, {
      profile,
      cards: READER_SCRIPT,
      seed: random.int(0x7fff_ffff),
      // The firmware's own event line is the one place that says a SHOW_RESULT matched its running transaction and was displayed.
      status: (event) => {
        if (SHOWING.test(event)) options.displayed();
      },
      onCardRead: options.onCardRead,
      ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
      unplug: () => line.unplug(),
      timers: scheduler.timers,
      now: () => new Date(scheduler.clock.wallMs()),
      unpredictable: () => random.int(0xffff_ffff),
    });
    firmware.start();
    return firmware;
  });
  return line;
}
