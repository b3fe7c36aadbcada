import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type CardFacts, type CardKeys, captureCard, generateSealKeyPair, tokenizePan } from '../card/index.js';
import { Journal, verifyChain } from '../journal/index.js';
import { ManualClock } from '../platform/clock.js';
import { SeededRandom } from '../platform/random.js';
import { StandIn, type Outcome } from '../standin/index.js';
import { type Shopper, makeShoppers } from './shoppers.js';
import { demoStoreRules } from './store-rules.js';

export interface TradingDayOptions {
  readonly dir: string;
  readonly seed: number;
  readonly lanes: number;
  /** Store opening, UTC. */
  readonly openWallMs: number;
  readonly hours: number;
  /** Hours after opening when the link to the centre fails for the rest of the day. */
  readonly linkDownAfterHours: number;
}

export interface DayRecord {
  readonly kind: 'payment' | 'retry' | 'void' | 'refund';
  readonly outcome: Outcome;
}

export interface TradingDayResult {
  readonly journalPath: string;
  readonly nodeId: string;
  readonly records: readonly DayRecord[];
  readonly forwardedCount: number;
  readonly verify: ReturnType<typeof verifyChain>;
  readonly verifyMs: number;
  readonly pans: readonly string[];
  readonly elapsedMs: number;
}

const TICK_MS = 2 * 60_000;
const FORWARD_EVERY_TICKS = 15;

/**
 * One trading day of a single node, in simulated time: lanes take payments from a seeded crowd of
 * shoppers, a few POS retries and voids and refunds happen, and the link to the centre fails
 * mid-day so the stored backlog grows until the node's caps and the forward deadline bite.
 * Forwarding is simulated by marking entries forwarded; the real uplink is a later capability.
 */
export async function runTradingDay(options: TradingDayOptions): Promise<TradingDayResult> {
  const started = performance.now();
  const random = new SeededRandom(options.seed);
  const clock = new ManualClock(options.openWallMs);
  mkdirSync(options.dir, { recursive: true });
  const seal = await generateSealKeyPair();
  const keys: CardKeys = { tokenKey: Buffer.from(random.bytes(32)), centrePublicKey: seal.publicKey };
  const shoppers = makeShoppers(random, { regulars: 12, occasional: 260 });
  const hot = shoppers.filter((s) => s.trait === 'hot').map((s) => tokenizePan(s.card.pan, keys.tokenKey));
  const nodeId = 'store-001-lane-box-1';
  const journalPath = join(options.dir, 'journal.db');
  const journal = Journal.open({ path: journalPath, nodeId, clock });
  const standIn = StandIn.open({ journal, rules: demoStoreRules(hot), clock });
  const records: DayRecord[] = [];
  const unforwarded: number[] = [];
  const approvedKeys: { key: string; amountMinor: number }[] = [];
  const sentRequests: Parameters<StandIn['authorize']>[0][] = [];
  let forwardedCount = 0;
  let serial = 0;

  const ticks = (options.hours * 3_600_000) / TICK_MS;
  for (let tick = 0; tick < ticks; tick++) {
    const linkUp = tick * TICK_MS < options.linkDownAfterHours * 3_600_000;
    if (linkUp && tick % FORWARD_EVERY_TICKS === 0 && unforwarded.length > 0) {
      const batch = unforwarded.splice(0);
      standIn.markForwarded(batch);
      forwardedCount += batch.length;
    }
    const lanesBusy = random.int(options.lanes + 1);
    const work: Promise<DayRecord>[] = [];
    for (let lane = 1; lane <= lanesBusy; lane++) {
      const shopper = pickShopper(random, shoppers);
      const card = await captureCard(shopper.card, keys);
      serial++;
      const request = paymentRequest(random, card, `lane-${lane}`, serial, clock.wallMs());
      sentRequests.push(request);
      work.push(standIn.authorize(request).then((outcome) => ({ kind: 'payment' as const, outcome })));
    }
    if (random.int(100) < 4 && sentRequests.length > 0) {
      // A POS that timed out waiting sends the same request again: it must get the same answer.
      const again = sentRequests[random.int(sentRequests.length)]!;
      work.push(standIn.authorize(again).then((outcome) => ({ kind: 'retry' as const, outcome })));
    }
    if (random.int(100) < 3 && approvedKeys.length > 0) {
      const original = approvedKeys[random.int(approvedKeys.length)]!;
      const kind = random.int(2) === 0 ? ('void' as const) : ('refund' as const);
      const amountMinor = kind === 'void' ? original.amountMinor : Math.max(1, Math.floor(original.amountMinor / 2));
      serial++;
      work.push(standIn.followUp({ kind, idempotencyKey: `pos-${serial}`, originalIdempotencyKey: original.key, amountMinor }).then((outcome) => ({ kind, outcome })));
    }
    for (const record of await Promise.all(work)) {
      records.push(record);
      const entry = record.outcome.entry;
      if (!entry || record.outcome.replayed) continue;
      unforwarded.push(entry.seq);
      if (record.kind === 'payment' && record.outcome.decision.approved) approvedKeys.push({ key: entry.idempotencyKey, amountMinor: entry.amountMinor });
    }
    clock.advance(TICK_MS);
  }
  await standIn.idle();
  const verifyStarted = performance.now();
  const verify = verifyChain(journal.connection(), { nodeId });
  const verifyMs = performance.now() - verifyStarted;
  journal.close();
  return {
    journalPath,
    nodeId,
    records,
    forwardedCount,
    verify,
    verifyMs,
    pans: shoppers.map((s) => s.card.pan),
    elapsedMs: performance.now() - started,
  };
}

function pickShopper(random: SeededRandom, shoppers: readonly Shopper[]): Shopper {
  const roll = random.int(1000);
  const special = (trait: Shopper['trait']) => shoppers.find((s) => s.trait === trait)!;
  if (roll < 6) return special('hot');
  if (roll < 12) return special('expired');
  if (roll < 18) return special('mistyped');
  const regulars = shoppers.filter((s) => s.trait === 'regular');
  if (roll < 150) return regulars[random.int(regulars.length)]!;
  const occasional = shoppers.filter((s) => s.trait === 'occasional');
  return occasional[random.int(occasional.length)]!;
}

function paymentRequest(random: SeededRandom, card: CardFacts, lane: string, serial: number, wallMs: number) {
  const currencyRoll = random.int(100);
  const currency = currencyRoll < 3 ? 'USD' : currencyRoll < 12 ? 'GBP' : 'EUR';
  const bigBasket = random.int(100) < 5;
  const amountMinor = bigBasket ? 10_001 + random.int(25_000) : 150 + random.int(6_000);
  return {
    idempotencyKey: `pos-${serial}`,
    amountMinor,
    currency,
    card,
    lane,
    reference: `receipt-${new Date(wallMs).toISOString().slice(11, 16)}-${serial}`,
  };
}
