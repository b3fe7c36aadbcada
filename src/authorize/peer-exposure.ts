import type { ExposureTotals, ExposureView } from './exposure-view.js';

/** An offline approval taken by another node of the store, as its replicated journal shows it. */
export interface PeerApproval {
  readonly origin: string;
  readonly seq: number;
  readonly token: string;
  readonly currency: string;
  readonly amountMinor: number;
  readonly wallMs: number;
}

interface Held {
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
 */
export class PeerExposure {
  private readonly held = new Map<string, Held>();
  private readonly cards = new Map<string, Set<string>>();

  get size(): number {
    return this.held.size;
  }

  recordApproval(approval: PeerApproval): void {
    const key = `${approval.origin}:${approval.seq}`;
    if (this.held.has(key)) return;
    this.held.set(key, { token: approval.token, currency: approval.currency, amountMinor: approval.amountMinor, wallMs: approval.wallMs });
    let keys = this.cards.get(approval.token);
    if (keys === undefined) this.cards.set(approval.token, (keys = new Set()));
    keys.add(key);
  }

  /** A peer voided its authorization `seq`: the card gets that room back. */
  recordRelease(origin: string, seq: number): void {
    const key = `${origin}:${seq}`;
    const held = this.held.get(key);
    if (held === undefined) return;
    this.held.delete(key);
    const keys = this.cards.get(held.token);
    keys?.delete(key);
    if (keys?.size === 0) this.cards.delete(held.token);
  }

  cardWindow(token: string, currency: string, sinceWallMs: number): ExposureTotals {
    let count = 0;
    let amountMinor = 0;
    for (const key of this.cards.get(token) ?? []) {
      const held = this.held.get(key) as Held;
      if (held.wallMs < sinceWallMs) continue;
      count++;
      if (held.currency === currency) amountMinor += held.amountMinor;
    }
    return { count, amountMinor };
  }

  /** Bounds memory: peers' approvals older than every window are of no more use here. */
  prune(beforeWallMs: number): void {
    for (const [key, held] of this.held) {
      if (held.wallMs >= beforeWallMs) continue;
      this.held.delete(key);
      const keys = this.cards.get(held.token);
      keys?.delete(key);
      if (keys?.size === 0) this.cards.delete(held.token);
    }
  }
}

/** The exposure a decision sees: this node's own, plus its peers' approvals in the card windows. */
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
