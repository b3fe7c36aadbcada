import Database from 'better-sqlite3';
import pg from 'pg';
import type { LedgerBackend } from '../central/ledger-backend.js';
import type { JournalEntry } from '../journal/entry.js';
import { JournalReader } from '../journal/journal-reader.js';
import { verifyChain } from '../journal/verify.js';
import { openReplicaDatabase } from '../replication/replicas/replica-db.js';
import { ReplicaStore } from '../replication/replicas/replica-store.js';

/** What the POS saw for one payment, by its idempotency key. */
export interface PosPayment {
  readonly node: string;
  readonly key: string;
  readonly amountMinor: number;
  /**
   * unknown: no answer (connection refused, reset, timeout, a server error); asked again later.
   * failed: the lane ended it without a decision (reader unplugged, card unreadable); it may move no money.
   */
  outcome: 'approved' | 'declined' | 'failed' | 'unknown';
  code: string | null;
  mode: string | null;
  /** Requests sent for this key, the first included. */
  attempts: number;
}

export interface CheckResult {
  readonly check: string;
  readonly ok: boolean;
  /** What was compared, with figures; the first few violations when not ok. */
  readonly detail: string;
}

export interface CheckInputs {
  readonly nodes: readonly { readonly id: string; readonly journalPath: string; readonly replicasPath: string }[];
  readonly ledger: LedgerBackend;
  /** The centre's database, read directly: the auditor does not go through the code it audits. */
  readonly databaseUrl: string;
  readonly payments: readonly PosPayment[];
  readonly perCard: { readonly maxCount: number; readonly maxAmountMinor: number };
}

const PAGE = 2_000;
const SHOWN = 5;

/** Everything the run must leave true, read from the journals, the replicas and the centre's database. */
export async function checkStore(inputs: CheckInputs): Promise<CheckResult[]> {
  const journals = new Map(inputs.nodes.map((node) => [node.id, readJournal(node.journalPath, node.id)]));
  return [
    ...inputs.nodes.map((node) => checkJournalChain(node.id, node.journalPath)),
    checkReplicas(inputs.nodes, journals),
    await checkTotals(inputs.ledger, journals),
    await checkLedger(inputs.ledger),
    ...(await checkPayments(inputs.databaseUrl, inputs.payments)),
    checkExposure(journals, inputs.perCard),
  ];
}

export function readJournal(path: string, nodeId: string): JournalEntry[] {
  const reader = new JournalReader(path, nodeId);
  try {
    const entries: JournalEntry[] = [];
    const head = reader.headSeq();
    for (let from = 1; from <= head; from += PAGE) entries.push(...reader.read(from, PAGE));
    return entries;
  } finally {
    reader.close();
  }
}

export function checkJournalChain(nodeId: string, path: string): CheckResult {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const report = verifyChain(db, { nodeId });
    return { check: `${nodeId}: journal chain verifies`, ok: report.ok, detail: report.ok ? `${report.checked} entries, head ${report.headSeq}` : JSON.stringify(report.problem) };
  } finally {
    db.close();
  }
}

/** Every peer holds every other box's exact chain, verified from genesis. */
export function checkReplicas(nodes: CheckInputs['nodes'], journals: ReadonlyMap<string, JournalEntry[]>): CheckResult {
  const problems: string[] = [];
  for (const holder of nodes) {
    const db = openReplicaDatabase(holder.replicasPath, holder.id);
    try {
      const store = new ReplicaStore(db);
      for (const origin of nodes) {
        if (origin.id === holder.id) continue;
        const own = journals.get(origin.id) ?? [];
        const report = store.verify(origin.id);
        const head = own.at(-1);
        if (!report.ok || report.checked !== own.length || (head !== undefined && report.headHash !== head.hash)) {
          problems.push(`${holder.id} holds ${report.checked} of ${origin.id}'s ${own.length} entries${report.ok ? '' : ` (${JSON.stringify(report.problem)})`}`);
        }
      }
    } finally {
      db.close();
    }
  }
  return {
    check: "every peer holds every box's exact chain",
    ok: problems.length === 0,
    detail: problems.length === 0 ? `${nodes.length} boxes, ${nodes.length * (nodes.length - 1)} replicas verified` : problems.slice(0, SHOWN).join('; '),
  };
}

export async function checkTotals(ledger: LedgerBackend, journals: ReadonlyMap<string, JournalEntry[]>): Promise<CheckResult> {
  const reports = await ledger.originReports();
  const problems: string[] = [];
  for (const [origin, entries] of journals) {
    const sums: Record<string, number> = {};
    for (const e of entries) sums[e.currency] = (sums[e.currency] ?? 0) + e.amountMinor;
    const held = reports.find((r) => r.origin === origin);
    const same = held !== undefined && held.entries === entries.length && Object.keys({ ...sums, ...held.sumsMinor }).every((c) => (sums[c] ?? 0) === (held.sumsMinor[c] ?? 0));
    if (!same) problems.push(`${origin}: journal ${entries.length} entries ${JSON.stringify(sums)}, centre ${held?.entries ?? 0} ${JSON.stringify(held?.sumsMinor ?? {})}`);
  }
  return {
    check: 'totals match: count and sum per currency, per box, journal against centre',
    ok: problems.length === 0,
    detail: problems.length === 0 ? [...journals].map(([o, e]) => `${o} ${e.length}`).join(', ') : problems.join('; '),
  };
}

export async function checkLedger(ledger: LedgerBackend): Promise<CheckResult> {
  const report = await ledger.checkInvariants();
  const ok = report.unbalancedTransfers === 0 && report.balanceMismatches === 0;
  return { check: 'the ledger balances: every transfer per currency, every account balance against its postings', ok, detail: JSON.stringify(report) };
}

export interface LedgerSale {
  readonly origin: string;
  readonly key: string;
  readonly approved: boolean;
  readonly result: string;
  readonly reason: string | null;
  readonly amountMinor: number;
  readonly posted: boolean;
}

async function checkPayments(databaseUrl: string, payments: readonly PosPayment[]): Promise<CheckResult[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const sales = (await client.query<SaleRow>(SALES_SQL)).rows.map(toSale);
    return comparePayments(payments, sales);
  } finally {
    await client.end();
  }
}

const SALES_SQL = `SELECT origin, idempotency_key, approved, result, reason, amount_minor, posted_account FROM ledger_entries WHERE kind = 'authorization'`;

interface SaleRow {
  origin: string;
  idempotency_key: string;
  approved: number;
  result: string;
  reason: string | null;
  amount_minor: string | number;
  posted_account: string | null;
}

function toSale(r: SaleRow): LedgerSale {
  return { origin: r.origin, key: r.idempotency_key, approved: Number(r.approved) === 1, result: r.result, reason: r.reason, amountMinor: Number(r.amount_minor), posted: r.posted_account !== null };
}

/** The sales an embedded (SQLite) centre holds, read from its file. */
export function readSqliteSales(ledgerPath: string): LedgerSale[] {
  const db = new Database(ledgerPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(SALES_SQL).all() as SaleRow[]).map(toSale);
  } finally {
    db.close();
  }
}

/**
 * What the POS saw against what the centre holds: an approved payment is one approved entry the
 * centre posted (settled, or an exception paid from offline risk), never two; a declined or failed
 * one moved no money; none is left unknown; and the centre posted nothing the POS never asked for.
 */
export function comparePayments(payments: readonly PosPayment[], sales: readonly LedgerSale[]): CheckResult[] {
  const byKey = new Map<string, LedgerSale[]>();
  for (const sale of sales) byKey.set(`${sale.origin}/${sale.key}`, [...(byKey.get(`${sale.origin}/${sale.key}`) ?? []), sale]);
  const approvedWrong: string[] = [];
  const declinedWrong: string[] = [];
  const unknown: string[] = [];
  for (const payment of payments) {
    const held = byKey.get(`${payment.node}/${payment.key}`) ?? [];
    if (payment.outcome === 'unknown') unknown.push(payment.key);
    else if (payment.outcome === 'approved') {
      const posted = held.filter((r) => r.approved && r.posted && r.amountMinor === payment.amountMinor);
      if (posted.length !== 1 || held.length !== 1) approvedWrong.push(`${payment.key}: ${held.length} entries at the centre, ${posted.length} posted`);
    } else if (held.some((r) => r.approved || r.posted)) declinedWrong.push(`${payment.key}: ${payment.outcome} at the POS, ${held.filter((r) => r.posted).length} posted at the centre`);
  }
  const posKeys = new Set(payments.map((p) => `${p.node}/${p.key}`));
  const strangers = sales.filter((r) => r.posted && !posKeys.has(`${r.origin}/${r.key}`)).map((r) => `${r.origin}/${r.key}`);
  const approved = payments.filter((p) => p.outcome === 'approved').length;
  const declined = payments.filter((p) => p.outcome === 'declined' || p.outcome === 'failed').length;
  const show = (list: string[]): string => `${list.length}: ${list.slice(0, SHOWN).join('; ')}`;
  return [
    { check: 'every payment the POS saw approved is posted at the centre exactly once', ok: approvedWrong.length === 0, detail: approvedWrong.length === 0 ? `${approved} approved payments` : show(approvedWrong) },
    { check: 'no payment the POS saw declined or failed moved money', ok: declinedWrong.length === 0, detail: declinedWrong.length === 0 ? `${declined} declined or failed payments` : show(declinedWrong) },
    { check: 'the POS knows the outcome of every payment once the store is healed', ok: unknown.length === 0, detail: unknown.length === 0 ? `${payments.length} payments` : show(unknown) },
    { check: 'the centre posted no payment the POS never made', ok: strangers.length === 0, detail: strangers.length === 0 ? `${sales.filter((r) => r.posted).length} posted sales` : show(strangers) },
  ];
}

/**
 * Offline approvals per card, voids giving the room back. Each box enforces the per-card limits
 * on what it sees, its own approvals included, so no box alone may ever pass them; the store as a
 * whole stays within one window's worth while the boxes see each other and within one per group
 * of boxes that could not (the P5 bound in docs/architecture.md), so never past boxes x limits.
 */
export function checkExposure(journals: ReadonlyMap<string, readonly JournalEntry[]>, perCard: CheckInputs['perCard']): CheckResult {
  const voided = new Set<string>();
  for (const [origin, entries] of journals) for (const e of entries) if (e.kind === 'void' && e.decision.approved && e.refSeq !== null) voided.add(`${origin}#${e.refSeq}`);
  const perBox = new Map<string, { count: number; amountMinor: number }>();
  const perStore = new Map<string, { count: number; amountMinor: number }>();
  const add = (map: Map<string, { count: number; amountMinor: number }>, key: string, amountMinor: number): void => {
    const seen = map.get(key) ?? { count: 0, amountMinor: 0 };
    seen.count++;
    seen.amountMinor += amountMinor;
    map.set(key, seen);
  };
  for (const [origin, entries] of journals) {
    for (const e of entries) {
      if (e.kind !== 'authorization' || !e.decision.approved || e.decision.mode !== 'offline' || voided.has(`${origin}#${e.seq}`)) continue;
      add(perBox, `${origin} ${e.cardToken.slice(0, 12)}…`, e.amountMinor);
      add(perStore, `${e.cardToken.slice(0, 12)}…`, e.amountMinor);
    }
  }
  const boxes = journals.size;
  const over = (map: Map<string, { count: number; amountMinor: number }>, factor: number): string[] =>
    [...map].filter(([, s]) => s.count > factor * perCard.maxCount || s.amountMinor > factor * perCard.maxAmountMinor).map(([k, s]) => `${k}: ${s.count} approvals, ${s.amountMinor}`);
  const problems = [...over(perBox, 1), ...over(perStore, boxes)];
  const busiest = Math.max(0, ...[...perStore.values()].map((s) => s.count));
  return {
    check: `offline exposure per card: each box within ${perCard.maxCount} approvals and ${perCard.maxAmountMinor} minor units, the store within ${boxes} x that`,
    ok: problems.length === 0,
    detail: problems.length === 0 ? `${perStore.size} cards approved offline; the busiest ${busiest} times over the store` : problems.slice(0, SHOWN).join('; '),
  };
}
