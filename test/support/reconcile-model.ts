import { join } from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';
import type { ForwardBatch } from '../../src/central/batch.js';
import { type BatchAnswer, Centre } from '../../src/central/centre.js';
import type { LedgerBackend } from '../../src/central/ledger-backend.js';
import { Journal } from '../../src/journal/journal.js';
import { JournalReader } from '../../src/journal/journal-reader.js';
import { ManualClock } from '../../src/platform/clock.js';
import { type CentreLink, Uplink, type UplinkJournal } from '../../src/reconcile/uplink.js';
import { authorizationDraft } from './drafts.js';
import { nodeKeys, registerKeys, signedReadsOf } from './signed-forwarding.js';

/*
 * Model-based reconciliation: random journals on two nodes of one store (sales, declines, voids,
 * refunds, the same POS payment approved on both nodes), forwarded in random bounded batches over
 * a link that loses answers, fails before sending and delivers twice, with node and centre
 * restarts in between. After healing, the centre must hold each entry exactly once, balance,
 * and agree with the nodes to the minor unit; a hot-listed card's offline approval is an exception.
 */

export const ORIGINS = ['node-a', 'node-b'] as const;
const STORE = 'store-1';
const HOT_TOKEN = 'tok-hot';
const CURRENCIES = ['EUR', 'GBP'] as const;

export type Command =
  | { readonly t: 'sale'; readonly node: number; readonly amount: number; readonly currency: number; readonly approved: boolean; readonly hot: boolean }
  | { readonly t: 'dup'; readonly node: number }
  | { readonly t: 'void'; readonly node: number; readonly pick: number }
  | { readonly t: 'refund'; readonly node: number; readonly pick: number; readonly amount: number }
  | { readonly t: 'forward'; readonly node: number; readonly batchSize: number; readonly window: number; readonly faults: readonly Fault[] }
  | { readonly t: 'replay'; readonly node: number; readonly upTo: number }
  | { readonly t: 'restart-node'; readonly node: number }
  | { readonly t: 'restart-centre' };

/** What the link does with one send: deliver, lose the answer after the centre took it, fail before sending, or deliver twice. */
export type Fault = 'ok' | 'lose-answer' | 'down' | 'twice';

const node = fc.integer({ min: 0, max: ORIGINS.length - 1 });
export const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('sale' as const), node, amount: fc.integer({ min: 1, max: 50_000 }), currency: fc.integer({ min: 0, max: 1 }), approved: fc.boolean(), hot: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('dup' as const), node }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('void' as const), node, pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('refund' as const), node, pick: fc.nat(), amount: fc.integer({ min: 1, max: 30_000 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('forward' as const),
      node,
      batchSize: fc.integer({ min: 1, max: 7 }),
      window: fc.integer({ min: 1, max: 3 }),
      faults: fc.array(fc.constantFrom<Fault>('ok', 'ok', 'lose-answer', 'down', 'twice'), { maxLength: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('replay' as const), node, upTo: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart-node' as const), node }) },
  { weight: 1, arbitrary: fc.constant({ t: 'restart-centre' as const }) },
);

interface Sale {
  readonly seq: number;
  readonly key: string;
  readonly amount: number;
  readonly currency: string;
  readonly approved: boolean;
  readonly cardToken: string;
  /** Its twin on another node: follow-ups are not taken on either, so which copy is paid does not matter. */
  twinned: boolean;
  reversed: number;
  voided: boolean;
}

class LinkDown extends Error {}

/** Runs one command sequence against a backend and checks every promise of reconciliation. */
export async function runReconcileModel(dir: string, commands: readonly Command[], openBackend: () => Promise<LedgerBackend>): Promise<void> {
  const clock = new ManualClock(Date.UTC(2026, 10, 28, 9));
  const journals = ORIGINS.map((origin) => Journal.open({ path: join(dir, `${origin}.db`), nodeId: origin, clock }));
  const readers = ORIGINS.map((origin, i) => new JournalReader(journals[i]!.path, origin));
  const sales: Sale[][] = ORIGINS.map(() => []);
  let backend = await openBackend();
  await backend.setCardStanding(HOT_TOKEN, 'hot_listed');
  const keys = nodeKeys(ORIGINS);
  await registerKeys(backend, STORE, keys);
  let centre = new Centre({ backend, forwardDeadlineHours: 24 * 7, clock });
  const sent: ForwardBatch[][] = ORIGINS.map(() => []);
  const expectedMerchant: Record<string, number> = {};
  let duplicates = 0;
  let keyCounter = 0;

  const uplinkJournal = (i: number): UplinkJournal => ({
    headSeq: () => journals[i]!.chainHead().seq,
    read: signedReadsOf(readers[i]!, keys.get(ORIGINS[i]!)!),
    firstUnforwardedSeq: () => readers[i]!.firstUnforwardedSeq(),
    record: async (outcomes) => journals[i]!.recordForwarded(outcomes),
  });
  const flakyLink = (i: number, faults: Fault[]): CentreLink => ({
    async send(batch): Promise<BatchAnswer> {
      sent[i]!.push(batch);
      const fault = faults.shift() ?? 'ok';
      if (fault === 'down') throw new LinkDown('centre unreachable');
      const answer = await centre.ingest(batch);
      if (fault === 'lose-answer') throw new LinkDown('answer lost');
      if (fault === 'twice') return centre.ingest(batch);
      return answer;
    },
  });
  const uplinks = ORIGINS.map((_, i) => new Uplink({ origin: ORIGINS[i]!, store: STORE, journal: uplinkJournal(i), centre: flakyLink(i, []), batchSize: 5 }));
  const forward = async (i: number, batchSize: number, faults: Fault[], window = 2): Promise<void> => {
    const uplink = new Uplink({ origin: ORIGINS[i]!, store: STORE, journal: uplinkJournal(i), centre: flakyLink(i, faults), batchSize, window });
    uplinks[i] = uplink;
    try {
      await uplink.drain();
    } catch (error) {
      if (!(error instanceof LinkDown)) throw error;
    }
  };

  for (const command of commands) {
    clock.advance(60_000);
    switch (command.t) {
      case 'sale': {
        const currency = CURRENCIES[command.currency]!;
        const key = `pos-${keyCounter++}`;
        const cardToken = command.hot ? HOT_TOKEN : `tok-${command.amount % 7}`;
        const entry = journals[command.node]!.append(
          authorizationDraft({
            idempotencyKey: key,
            amountMinor: command.amount,
            currency,
            cardToken,
            decision: command.approved
              ? { approved: true, code: 'Y3', reason: 'approved offline', rule: 'approved', mode: 'offline' }
              : { approved: false, code: 'Z3', reason: 'declined offline', rule: 'velocity', mode: 'offline' },
          }),
        );
        sales[command.node]!.push({ seq: entry.seq, key, amount: command.amount, currency, approved: command.approved, cardToken, twinned: false, reversed: 0, voided: false });
        if (command.approved) expectedMerchant[currency] = (expectedMerchant[currency] ?? 0) + command.amount;
        break;
      }
      case 'dup': {
        const other = (command.node + 1) % ORIGINS.length;
        const original = sales[other]!.find((s) => s.approved && !s.twinned && s.reversed === 0 && !s.voided);
        if (original === undefined) break;
        original.twinned = true;
        // The same card, amount and POS key: one payment approved on two lanes.
        const entry = journals[command.node]!.append(authorizationDraft({ idempotencyKey: original.key, amountMinor: original.amount, currency: original.currency, cardToken: original.cardToken }));
        sales[command.node]!.push({ ...original, seq: entry.seq });
        duplicates++;
        break;
      }
      case 'void':
      case 'refund': {
        const candidates = sales[command.node]!.filter((s) => s.approved && !s.twinned && !s.voided);
        const original = candidates[command.pick % Math.max(1, candidates.length)];
        if (original === undefined) break;
        const remaining = original.amount - original.reversed;
        const back = command.t === 'void' ? remaining : Math.min(command.amount, remaining);
        journals[command.node]!.append(
          authorizationDraft({
            kind: command.t,
            refSeq: original.seq,
            idempotencyKey: `pos-${keyCounter++}`,
            amountMinor: command.t === 'void' ? original.amount : command.amount,
            currency: original.currency,
            sealedCard: null,
          }),
        );
        original.reversed += back;
        if (command.t === 'void') original.voided = true;
        expectedMerchant[original.currency] = (expectedMerchant[original.currency] ?? 0) - back;
        break;
      }
      case 'forward':
        await forward(command.node, command.batchSize, [...command.faults], command.window);
        break;
      case 'replay': {
        // An old batch delivered again (a broker redelivery): the centre answers as it did.
        for (const batch of sent[command.node]!.slice(0, command.upTo)) {
          const answer = await centre.ingest(batch);
          if (answer.ok) expect(answer.outcomes.map((o) => o.seq)).toEqual(batch.entries.map((e) => e.seq));
          else expect(answer.error.code).toBe('EDGEPAY_CENTRE_GAP');
        }
        break;
      }
      case 'restart-node':
        readers[command.node]!.close();
        journals[command.node]!.close();
        journals[command.node] = Journal.open({ path: join(dir, `${ORIGINS[command.node]}.db`), nodeId: ORIGINS[command.node]!, clock });
        readers[command.node] = new JournalReader(journals[command.node]!.path, ORIGINS[command.node]!);
        break;
      case 'restart-centre':
        await backend.close();
        backend = await openBackend();
        centre = new Centre({ backend, forwardDeadlineHours: 24 * 7, clock });
        break;
    }
  }

  // Heal: a reliable link, everything forwarded.
  for (let i = 0; i < ORIGINS.length; i++) await forward(i, 50, []);

  const reports = await backend.originReports();
  const invariants = await backend.checkInvariants();
  expect(invariants.unbalancedTransfers).toBe(0);
  expect(invariants.balanceMismatches).toBe(0);
  const merchant: Record<string, number> = {};
  for (let i = 0; i < ORIGINS.length; i++) {
    const totals = readers[i]!.totals();
    const head = journals[i]!.chainHead().seq;
    expect(totals.unforwarded).toBe(0);
    expect(await backend.headOf(ORIGINS[i]!)).toBe(head);
    const report = reports.find((r) => r.origin === ORIGINS[i]);
    if (head === 0) {
      expect(report).toBeUndefined();
      continue;
    }
    // Exactly once: the centre holds as many entries as the journal, and the same sums to the minor unit.
    expect(report!.entries).toBe(head);
    expect(report!.sumsMinor).toEqual(totals.sumsMinor);
    for (const [currency, minor] of Object.entries(report!.merchantMinor)) merchant[currency] = (merchant[currency] ?? 0) + minor;
  }
  const nonZero = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== 0));
  expect(nonZero(merchant)).toEqual(nonZero(expectedMerchant));
  // Merchant balances in the ledger are credits (negative): they mirror the merchant's net sales.
  const ledgerMerchant: Record<string, number> = {};
  for (const [account, balance] of Object.entries(invariants.balances)) {
    if (account.startsWith(`merchant:${STORE}:`)) ledgerMerchant[account.slice(-3)] = -balance;
  }
  expect(nonZero(ledgerMerchant)).toEqual(nonZero(expectedMerchant));

  const exceptions = await backend.exceptions(100_000);
  expect(exceptions.filter((e) => e.reason === 'duplicate')).toHaveLength(duplicates);
  const hotApprovals = exceptions.filter((e) => e.reason === 'hot_listed');
  // Every approved sale of the hot card is an exception (its twin, if any, is the duplicate instead).
  const hotSales = journals.flatMap((j) => [...j.entries()].filter((e) => e.kind === 'authorization' && e.decision.approved && e.cardToken === HOT_TOKEN));
  const hotKeys = new Set(hotSales.map((e) => e.idempotencyKey));
  expect(new Set(hotApprovals.map((e) => e.idempotencyKey))).toEqual(hotKeys);
  expect(exceptions.every((e) => e.reason === 'duplicate' || e.reason === 'hot_listed')).toBe(true);

  for (const reader of readers) reader.close();
  for (const journal of journals) journal.close();
  await backend.close();
}
