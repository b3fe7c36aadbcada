import type { ForwardBatch } from './batch.js';
import type { NodeRegistration, RegisteredNode } from './node-registry.js';
import type { OnlineDecision, OnlineRequest, OnlineStatus } from './online.js';
import type { CardStanding, LedgerView, Plan } from './plan.js';

/** Per origin node: what the centre holds of its journal and what it came to. */
export interface OriginReport {
  readonly origin: string;
  readonly store: string;
  readonly headSeq: number;
  readonly entries: number;
  readonly settled: number;
  readonly exceptions: number;
  readonly recorded: number;
  /** Sum of amountMinor per currency over every held entry, whatever became of it: matches the node's own totals. */
  readonly sumsMinor: Readonly<Record<string, number>>;
  /** Net minor units credited to the store's merchant account by this origin's entries, per currency. */
  readonly merchantMinor: Readonly<Record<string, number>>;
}

export interface ExceptionRow {
  readonly origin: string;
  readonly seq: number;
  readonly store: string;
  readonly idempotencyKey: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly reason: string;
  readonly wallMs: number;
}

export interface HeldEntry {
  readonly seq: number;
  readonly hash: string;
  readonly result: 'settled' | 'exception' | 'recorded';
  readonly reason: string | null;
}

export interface InvariantReport {
  /** Transfers whose postings do not sum to zero (must be none). */
  readonly unbalancedTransfers: number;
  /** Accounts whose balance differs from the sum of their postings (must be none). */
  readonly balanceMismatches: number;
  readonly transfers: number;
  readonly postings: number;
  readonly balances: Readonly<Record<string, number>>;
}

export interface IngestContext {
  readonly nowMs: number;
  readonly forwardDeadlineMs: number;
}

/**
 * Where the ledger lives. Each backend reads the view a batch needs, plans it and applies the
 * plan in ONE database transaction, so a crash at any point leaves either the whole batch or
 * none of it, and two ingesters (several centre processes on one PostgreSQL) serialize on the
 * origin's head row. The planning itself is shared (plan.ts): the backends differ only in SQL.
 */
export interface LedgerBackend {
  readonly kind: 'sqlite' | 'postgres';
  ingest(batch: ForwardBatch, plan: (view: LedgerView) => Plan, context: IngestContext): Promise<Plan>;
  setCardStanding(cardToken: string, standing: CardStanding | null): Promise<void>;
  /**
   * An online authorization, idempotent by (origin, key): the first request is decided with the
   * card's standing and recorded; a repeat gets the recorded answer. A key reversed before its
   * request arrived is declined.
   */
  authorizeOnline(request: OnlineRequest, decide: (standing: CardStanding | undefined) => OnlineDecision, nowMs: number): Promise<OnlineDecision>;
  /** The node gave up waiting and decided offline: an approval it never saw must not hold the card. */
  reverseOnline(origin: string, idempotencyKey: string, nowMs: number): Promise<void>;
  onlineStatus(origin: string, idempotencyKey: string): Promise<OnlineStatus | undefined>;
  /** Tokens of the cards the centre holds as stolen: what the fleet's hot-card list must carry. */
  hotListedTokens(): Promise<string[]>;
  headOf(origin: string): Promise<number>;
  originReports(): Promise<OriginReport[]>;
  /** One origin's report, read for that origin alone; undefined when the centre holds nothing of it. */
  originReport(origin: string): Promise<OriginReport | undefined>;
  exceptions(limit?: number): Promise<ExceptionRow[]>;
  /** What the centre holds of an origin from `fromSeq` on, in order: for per-entry reconciliation. */
  heldEntries(origin: string, fromSeq: number, limit: number): Promise<HeldEntry[]>;
  /** Who brought an origin's entries, with counts: the origin itself, or custodians on its behalf. */
  sendersOf(origin: string): Promise<Record<string, number>>;
  checkInvariants(): Promise<InvariantReport>;
  /** Registers a node's key for its store (see registrationChange); throws EDGEPAY_CENTRE_NODE_EXISTS on a conflict. */
  registerNode(registration: NodeRegistration, nowMs: number): Promise<{ readonly node: RegisteredNode; readonly changed: boolean }>;
  /** From now on nothing signed by the node's key is posted; throws EDGEPAY_NOT_FOUND for an unknown node. */
  revokeNode(nodeId: string, nowMs: number): Promise<RegisteredNode>;
  registeredNode(nodeId: string): Promise<RegisteredNode | undefined>;
  registeredNodes(): Promise<RegisteredNode[]>;
  close(): Promise<void>;
}
