/** How much of a limit is used: a number of approvals and an amount in one currency's minor units. */
export interface ExposureTotals {
  readonly count: number;
  readonly amountMinor: number;
}

/** The read side of offline exposure bookkeeping, all that a decision needs. */
export interface ExposureView {
  /**
   * Approvals of this card with wallMs >= sinceWallMs (later ones included: after a clock jump
   * backwards they were still spent). count covers every currency, amountMinor only `currency`.
   */
  cardWindow(token: string, currency: string, sinceWallMs: number): ExposureTotals;
  /** Approvals stored on this node and not yet forwarded: count of all currencies, amount of `currency`. */
  nodeStored(currency: string): ExposureTotals;
  oldestUnforwardedWallMs(): number | null;
}
