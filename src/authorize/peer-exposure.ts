import { type Clock, systemClock } from '../platform/clock.js';
import type { ExposureTotals, ExposureView } from './exposure-view.js';
import {
  DEFAULT_PEER_CLOCK_TOLERANCE_MS,
  type PeerIgnoreReason,
  type PeerIgnoredCounts,
  type PeerWindow,
  type PerCardLimits,
  checkedTolerance,
  isDatedBeyond,
  judgePeerApprovals,
  peerWindowAt,
} from './peer-plausibility.js';

/** An offline approval taken by another node of the store, as its replicated journal shows it. */
export interface PeerApproval {
  readonly origin: string;
  readonly seq: number;
  readonly token: string;
  readonly currency: string;
  readonly amountMinor: number;
  readonly wallMs: number;
}

export interface PeerRelease {
  readonly origin: string;
  readonly seq: number;
}

export interface PeerExposureOptions {
  /** This node's clock: peers' dates are judged against it. */
  readonly clock?: Clock;
  readonly futureToleranceMs?: number;
  /**
   * The per-card limits in force, read at each use so a rules change applies at once. Without
   * them (a bare bookkeeping test) no origin is judged over the limits.
   */
  readonly perCard?: () => PerCardLimits;
}

interface Held {
  readonly key: string;
  readonly origin: string;
  readonly token: string;
  readonly currency: string;
  readonly amountMinor: number;
  readonly wallMs: number;
}

/**
 * What the store's other nodes approved offline, per card: added to this node's own approvals when
 * a card's window is checked, so a card gets its offline limit once per store, not once per lane
 * (P5). It does not count toward this node's stored totals: each node owes the centre its own.
 * Fed from the replicas outside the journal's batches, so it needs no undo.
 *
 * A peer's signature proves who wrote an approval, not that it is true: a compromised box signs
 * whatever it likes. So only plausible approvals count (see judgePeerApprovals): none dated beyond
 * the clock tolerance, none from an origin claiming more of a card than the rules let it take.
 * Each implausible approval is counted once by reason, for the alert metric.
 */
export class PeerExposure {
  private readonly held = new Map<string, Held>();
  private readonly cards = new Map<string, Set<string>>();
  /** Held approvals already counted as ignored, so an alert counts an approval once, not per look. */
  private readonly flagged = new Set<string>();
  private readonly ignoredCounts: Record<PeerIgnoreReason, number> = { future: 0, over_limit: 0 };
  private readonly clock: Clock;
  private readonly toleranceMs: number;
  private readonly perCard: (() => PerCardLimits) | undefined;

  constructor(options: PeerExposureOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.toleranceMs = checkedTolerance(options.futureToleranceMs ?? DEFAULT_PEER_CLOCK_TOLERANCE_MS);
    this.perCard = options.perCard;
  }

  /** Peers' approvals held (plausible or not yet judged), for metrics and memory checks. */
  get size(): number {
    return this.held.size;
  }

  /** Approvals left out of shared exposure so far, by reason: the alert. */
  ignored(): PeerIgnoredCounts {
    return { ...this.ignoredCounts };
  }

  /**
   * Holds the approval for the card windows. One dated beyond the tolerance is not kept: held, a
   * forged date years ahead would never be pruned (prune drops the old end). An honest box whose
   * clock runs that far ahead loses its approvals' share here until this node next loads the
   * replicas (a journal-writer start), and the alert says which clock to fix.
   * Returns whether it is held.
   */
  recordApproval(approval: PeerApproval): boolean {
    const key = `${approval.origin}:${approval.seq}`;
    if (this.held.has(key)) return true;
    if (isDatedBeyond(approval.wallMs, this.clock.wallMs(), this.toleranceMs)) {
      this.ignoredCounts.future++;
      return false;
    }
    const { origin, token, currency, amountMinor, wallMs } = approval;
    this.held.set(key, { key, origin, token, currency, amountMinor, wallMs });
    let keys = this.cards.get(token);
    if (keys === undefined) this.cards.set(token, (keys = new Set()));
    keys.add(key);
    return true;
  }

  /** A peer voided its authorization `seq`: the card gets that room back. */
  recordRelease(origin: string, seq: number): void {
    const held = this.held.get(`${origin}:${seq}`);
    if (held !== undefined) this.drop(held);
  }

  /**
   * A batch of peers' entries, as the replicas deliver them: approvals, then the voids that
   * release some, then each card touched is judged so an implausible origin raises its alert
   * without waiting for the card's next payment. Voids are applied before judging, so an honest
   * origin that voided and approved again within one batch is not judged on the voided approval.
   */
  recordEntries(approvals: readonly PeerApproval[], releases: readonly PeerRelease[]): void {
    const touched = new Set<string>();
    for (const approval of approvals) if (this.recordApproval(approval)) touched.add(approval.token);
    for (const release of releases) this.recordRelease(release.origin, release.seq);
    const limits = this.perCard?.();
    if (limits === undefined) return;
    const window = peerWindowAt(limits, this.clock.wallMs(), this.toleranceMs);
    for (const token of touched) this.judge(token, window, limits);
  }

  /**
   * The card's plausible peer approvals from sinceWallMs up to this node's now plus the tolerance.
   * Judged at each call against the limits in force, since the window and the rules both move.
   */
  cardWindow(token: string, currency: string, sinceWallMs: number): ExposureTotals {
    if (!this.cards.has(token)) return { count: 0, amountMinor: 0 };
    const window: PeerWindow = { sinceWallMs, untilWallMs: this.clock.wallMs() + this.toleranceMs };
    const counted = this.judge(token, window, this.perCard?.() ?? null);
    let amountMinor = 0;
    for (const held of counted) if (held.currency === currency) amountMinor += held.amountMinor;
    return { count: counted.length, amountMinor };
  }

  /** Bounds memory: peers' approvals older than every window are of no more use here. */
  prune(beforeWallMs: number): void {
    for (const held of this.held.values()) if (held.wallMs < beforeWallMs) this.drop(held);
  }

  private judge(token: string, window: PeerWindow, limits: PerCardLimits | null): Held[] {
    const approvals = [...(this.cards.get(token) ?? [])].map((key) => this.held.get(key) as Held);
    const { counted, ignored } = judgePeerApprovals(approvals, window, limits);
    for (const { approval, reason } of ignored) {
      if (this.flagged.has(approval.key)) continue;
      this.flagged.add(approval.key);
      this.ignoredCounts[reason]++;
    }
    return counted;
  }

  private drop(held: Held): void {
    this.held.delete(held.key);
    this.flagged.delete(held.key);
    const keys = this.cards.get(held.token);
    keys?.delete(held.key);
    if (keys?.size === 0) this.cards.delete(held.token);
  }
}

/** The exposure a decision sees: this node's own, plus its peers' plausible approvals in the card windows. */
export function storeExposure(own: ExposureView, peers: PeerExposure): ExposureView {
  return {
    cardWindow(token, currency, sinceWallMs) {
      const mine = own.cardWindow(token, currency, sinceWallMs);
      if (peers.size === 0) return mine;
      const theirs = peers.cardWindow(token, currency, sinceWallMs);
      return { count: mine.count + theirs.count, amountMinor: mine.amountMinor + theirs.amountMinor };
    },
    nodeStored: (currency) => own.nodeStored(currency),
    oldestUnforwardedWallMs: () => own.oldestUnforwardedWallMs(),
  };
}
