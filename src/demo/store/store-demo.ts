import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeRunDir } from '../../rigs/run-dir.js';
import { hasSocat, requireSocat } from '../../rigs/readers/pty-pair.js';
import { startStoreBox } from '../../rigs/store/box.js';
import { prepareCentre, startCentreService } from '../../rigs/store/centre.js';
import { provisionStore } from '../../rigs/store/provision.js';
import { type StoreNode, peerHead, readerState } from '../../rigs/store/store-node.js';
import { startStoreBroker } from '../../rigs/broker/store-broker.js';
import type { CentreService } from '../../central/centre-service.js';
import { SqliteLedger } from '../../central/sqlite-ledger.js';
import { JournalReader, journalHeadOf } from '../../journal/journal-reader.js';

export interface StoreDemoOptions {
  readonly seed?: number;
  /** How the simulated readers reach their nodes; `auto` takes ptys when socat is installed. */
  readonly transport?: 'auto' | 'pty' | 'unix';
  readonly dir?: string;
  readonly keep?: boolean;
  readonly progress?: (line: string) => void;
  /**
   * The store's token key; a new random one per run when absent. Given only by a test that plays
   * an attacker holding the key. Either way it reaches the nodes through an in-memory credentials
   * directory, never a file on disk.
   */
  readonly tokenKey?: Buffer;
}

export interface NodeLine {
  readonly node: string;
  readonly fate: 'ran all day' | 'killed (SIGKILL); forwarded in custody';
  readonly journal: { readonly entries: number; readonly sumsMinor: Readonly<Record<string, number>> };
  readonly centre: { readonly entries: number; readonly sumsMinor: Readonly<Record<string, number>>; readonly settled: number; readonly exceptions: number; readonly recorded: number } | null;
  readonly broughtBy: Readonly<Record<string, number>>;
  readonly matched: boolean;
}

export interface StoreDemoReport {
  readonly demo: 'store';
  readonly transport: string;
  readonly durationSeconds: number;
  readonly payments: { readonly online: number; readonly offline: number; readonly approved: number; readonly declined: number; readonly failed: number; readonly declinesByCode: Readonly<Record<string, number>> };
  readonly nodes: readonly NodeLine[];
  readonly exceptions: readonly { readonly origin: string; readonly seq: number; readonly amountMinor: number; readonly currency: string; readonly reason: string }[];
  readonly ledger: { readonly transfers: number; readonly unbalancedTransfers: number; readonly balanceMismatches: number };
  readonly matched: boolean;
}

const NODES = ['box-1', 'box-2', 'box-3'] as const;
const FLEET = 'demo';
const STORE = 'store-1';
/** What each box's reader presents, in order: the day's customers at that lane. */
const CARDS = 'good,good,good,good,hot,good,expired,good,bad-luhn,good,good,good,good,good';

/**
 * A whole store on one machine: an embedded broker, the centre on an SQLite ledger, three node
 * processes each with a simulated reader on a pseudo-terminal pair, and a scripted trading day.
 */
export async function runStoreDemo(options: StoreDemoOptions = {}): Promise<StoreDemoReport> {
  const progress = options.progress ?? (() => undefined);
  const seed = options.seed ?? 1;
  const transport = options.transport === undefined || options.transport === 'auto' ? (hasSocat() ? 'pty' : 'unix') : options.transport;
  if (transport === 'pty') requireSocat();
  const started = performance.now();
  const dir = makeRunDir(options.dir);
  const stops: (() => Promise<unknown>)[] = [];
  try {
    // ---- keys, rules, broker users -------------------------------------------------------------
    const store = await provisionStore(dir.path, {
      fleet: FLEET,
      store: STORE,
      boxes: NODES,
      limits: { currency: 'EUR', floorLimitMinor: 10_000, perCard: { maxCount: 4, maxAmountMinor: 15_000 }, node: { maxStoredCount: 200, maxStoredAmountMinor: 900_000 } },
      ...(options.tokenKey === undefined ? {} : { tokenKey: options.tokenKey }),
    });
    stops.push(async () => store.remove());

    // ---- broker and centre -----------------------------------------------------------------------
    progress('starting the store broker (embedded aedes, with the store ACL from brokers/acl.template) and the centre (SQLite ledger)');
    const broker = await startStoreBroker('aedes', dir.path, store.passwords, { fleet: FLEET, store: STORE }, { neededBy: 'the demo' });
    const brokerUrl = broker.url;
    stops.push(() => broker.stop());
    mkdirSync(join(dir.path, 'centre'), { recursive: true });
    const ledger = SqliteLedger.open(join(dir.path, 'centre', 'ledger.db'));
    stops.push(() => ledger.close());
    const centre = await prepareCentre(store, ledger);
    let centreService: CentreService | undefined;
    const startCentre = async (): Promise<void> => {
      centreService = await startCentreService(store, centre, { brokerUrl, clientId: 'edgepay-centre-demo' });
    };
    await startCentre();
    stops.push(async () => centreService?.stop());

    // ---- the three boxes ---------------------------------------------------------------------------
    const nodes = new Map<string, StoreNode>();
    for (const [i, id] of NODES.entries()) {
      progress(`starting ${id}: node process, simulated reader ${transport === 'pty' ? 'on a socat pty pair' : 'on a Unix socket (socat is not installed)'}`);
      const node = await startStoreBox(store, { id, seed: seed * 10 + i, cards: CARDS, transport, brokerUrl, custodyAfterSeconds: 2, onlineTimeoutMs: 300, logLevel: 'warn' });
      nodes.set(id, node);
      stops.push(() => node.stop());
    }

    const tally = { online: 0, offline: 0, approved: 0, declined: 0, failed: 0, declinesByCode: {} as Record<string, number> };
    let paymentNo = 0;
    const pay = async (node: StoreNode, amountMinor: number): Promise<void> => {
      const key = `${node.id}-p${paymentNo++}`;
      const response = await fetch(`${node.apiUrl}/v1/payments`, {
        method: 'POST',
        headers: { ...node.apiHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ lane: 'lane-1', amountMinor, currency: 'EUR', reference: key, idempotencyKey: key }),
      });
      const payment = (await response.json()) as { status?: string; decision?: { code: string; mode: string; approved: boolean } | null };
      if (payment.decision === null || payment.decision === undefined) {
        tally.failed++;
        return;
      }
      if (payment.decision.mode === 'online') tally.online++;
      else tally.offline++;
      if (payment.decision.approved) tally.approved++;
      else {
        tally.declined++;
        tally.declinesByCode[payment.decision.code] = (tally.declinesByCode[payment.decision.code] ?? 0) + 1;
      }
      await untilReaderReady(node);
    };
    const amounts = [1_250, 3_490, 899, 12_500, 2_000, 4_575, 1_999, 15_000, 650, 7_800, 2_310, 5_420, 990, 3_300];
    let amountNo = 0;
    const nextAmount = (): number => amounts[amountNo++ % amounts.length]!;

    // ---- the day ------------------------------------------------------------------------------------
    progress("morning: trading online: the centre decides every payment that passes the box's own card checks");
    for (let round = 0; round < 3; round++) for (const node of nodes.values()) await pay(node, nextAmount());
    progress(`  ${tally.online} decided online, ${tally.offline} declined on the box`);

    progress('noon: the uplink is cut; the boxes decide offline by their rules');
    await centreService?.stop();
    centreService = undefined;
    for (let round = 0; round < 6; round++) for (const node of nodes.values()) await pay(node, nextAmount());
    progress(`  ${tally.offline} decided offline: ${tally.approved} approved so far, declines by code ${JSON.stringify(tally.declinesByCode)}`);
    // A customer reports a card stolen during the outage: the issuer side learns of it, the boxes cannot.
    const stolen = lastOfflineApproval(nodes.get('box-1')!);
    if (stolen !== undefined) {
      await ledger.setCardStanding(stolen.cardToken, 'hot_listed');
      progress(`  the card of box-1's entry ${stolen.seq} (•••• ${stolen.cardLast4}) is reported stolen at the centre meanwhile`);
    }

    const box3 = nodes.get('box-3')!;
    const box3Journal = new JournalReader(box3.journalPath, 'box-3');
    const lastOfBox3 = box3Journal.headSeq();
    const unforwardedOfBox3 = box3Journal.backlog().unforwarded;
    box3Journal.close();
    progress(`afternoon: box-3 is killed (SIGKILL) with ${unforwardedOfBox3} of its ${lastOfBox3} entries not forwarded; its peers hold them all`);
    await untilPeersHold(nodes, 'box-3', lastOfBox3);
    await box3.kill();
    for (let round = 0; round < 2; round++) for (const node of [nodes.get('box-1')!, nodes.get('box-2')!]) await pay(node, nextAmount());

    progress("evening: the link is back; box-1 and box-2 forward their journals, box-3's custodian forwards its");
    await startCentre();
    await untilCentreHoldsAll(ledger, [...nodes.values()]);

    // ---- the report -------------------------------------------------------------------------------------
    const reports = await ledger.originReports();
    const lines: NodeLine[] = [];
    for (const node of nodes.values()) {
      const reader = new JournalReader(node.journalPath, node.id);
      const totals = reader.totals();
      reader.close();
      const held = reports.find((r) => r.origin === node.id);
      const matched = held !== undefined && held.entries === totals.entries && sameSums(held.sumsMinor, totals.sumsMinor);
      lines.push({
        node: node.id,
        fate: node.id === 'box-3' ? 'killed (SIGKILL); forwarded in custody' : 'ran all day',
        journal: { entries: totals.entries, sumsMinor: totals.sumsMinor },
        centre: held === undefined ? null : { entries: held.entries, sumsMinor: held.sumsMinor, settled: held.settled, exceptions: held.exceptions, recorded: held.recorded },
        broughtBy: await ledger.sendersOf(node.id),
        matched,
      });
    }
    const invariants = await ledger.checkInvariants();
    const exceptions = (await ledger.exceptions()).map((e) => ({ origin: e.origin, seq: e.seq, amountMinor: e.amountMinor, currency: e.currency, reason: e.reason }));
    const custodyWorked = Object.keys(lines.find((l) => l.node === 'box-3')?.broughtBy ?? {}).some((sender) => sender !== 'box-3');
    // The stolen card's offline approval must come back as an exception, not be settled or lost.
    const stolenCaught = stolen === undefined || exceptions.some((e) => e.origin === 'box-1' && e.seq === stolen.seq && e.reason === 'hot_listed');
    const matched = lines.every((l) => l.matched) && invariants.unbalancedTransfers === 0 && invariants.balanceMismatches === 0 && tally.failed === 0 && custodyWorked && stolenCaught;
    return {
      demo: 'store',
      transport: `readers: ${transport === 'pty' ? 'real pseudo-terminals (socat pty pairs)' : 'Unix sockets (no socat on this machine: the same bytes, no tty layer)'}, unpaced; broker: embedded aedes; centre: SQLite ledger, reached over MQTT`,
      durationSeconds: Math.round((performance.now() - started) / 100) / 10,
      payments: tally,
      nodes: lines,
      exceptions,
      ledger: { transfers: invariants.transfers, unbalancedTransfers: invariants.unbalancedTransfers, balanceMismatches: invariants.balanceMismatches },
      matched,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    dir.release(options.keep === true);
  }
}

/** The latest offline approval in a node's journal (read from its file, as an auditor would). */
function lastOfflineApproval(node: StoreNode): { seq: number; cardToken: string; cardLast4: string } | undefined {
  const reader = new JournalReader(node.journalPath, node.id);
  try {
    const head = reader.headSeq();
    const entries = reader.read(Math.max(1, head - 20), 21).reverse();
    const found = entries.find((e) => e.kind === 'authorization' && e.decision.approved && e.decision.mode === 'offline');
    return found === undefined ? undefined : { seq: found.seq, cardToken: found.cardToken, cardLast4: found.cardLast4 };
  } finally {
    reader.close();
  }
}

function sameSums(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

async function untilReaderReady(node: StoreNode): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const state = await readerState(node.apiUrl, node.apiHeaders);
    if (state === 'ready') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${node.id}'s reader did not come back to ready`);
}

async function untilPeersHold(nodes: ReadonlyMap<string, StoreNode>, origin: string, seq: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  const peers = [...nodes.values()].filter((n) => n.id !== origin);
  for (;;) {
    const held = await Promise.all(peers.map((peer) => peerHead(peer.statusUrl, origin)));
    if (held.every((h) => h >= seq)) return;
    if (Date.now() > deadline) throw new Error(`${origin}'s peers hold ${held.join(', ')} of its ${seq} entries`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function untilCentreHoldsAll(ledger: SqliteLedger, nodes: readonly StoreNode[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const pending: string[] = [];
    for (const node of nodes) {
      const head = journalHeadOf(node.journalPath, node.id);
      const held = await ledger.headOf(node.id);
      if (held < head) pending.push(`${node.id} ${held}/${head}`);
    }
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`the centre still lacks entries: ${pending.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
