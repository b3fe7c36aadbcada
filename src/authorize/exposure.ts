import { BadInputError, type FieldProblem } from '../errors.js';
import type { ExposureTotals, ExposureView } from './exposure-view.js';

export interface ApprovalRecord {
  /** Journal sequence number: unique per node, the handle for release and forwarding. */
  readonly seq: number;
  readonly token: string;
  readonly currency: string;
  readonly amountMinor: number;
  readonly wallMs: number;
}

interface Entry {
  readonly seq: number;
  readonly token: string;
  readonly currency: string;
  readonly amountMinor: number;
  readonly wallMs: number;
  /** Still in its card's list, i.e. not released and not pruned. */
  inWindow: boolean;
  /** Still counted in the node's stored totals, i.e. not released and not forwarded. */
  stored: boolean;
}

/*
 * Undo records hold exactly what is needed to reverse one change. They are undone newest first, so
 * each one meets the state its change left behind: a list index recorded at release time is still
 * the right place to reinsert.
 */
type UndoRecord =
  | { readonly kind: 'approve'; readonly entry: Entry }
  | { readonly kind: 'release'; readonly entry: Entry; readonly cardIndex: number; readonly wasStored: boolean }
  | { readonly kind: 'forward'; readonly entry: Entry }
  | { readonly kind: 'prune'; readonly lists: ReadonlyArray<readonly [string, Entry[]]>; readonly dropped: readonly Entry[] };

/** Returned by checkpoint(); hand it back to exactly one of commit() or rollback(). */
export class ExposureUndo {
  /** @internal Only ExposureState creates these; the id makes reports of a stale undo readable. */
  constructor(readonly id: number) {}
}

/**
 * Offline exposure bookkeeping: per-card spending windows and the node's unforwarded totals. Pure
 * memory, fed by the journal owner, so a restart rebuilds it by replaying the journal.
 *
 * Costs: cardWindow is O(approvals of that card not yet pruned), nodeStored O(1), record,
 * release and forward O(1) apart from a release's search of one card's list, prune O(tracked
 * approvals). oldestUnforwardedWallMs is O(1) until the oldest entry leaves, then one scan of the
 * unforwarded entries, which nodeStored's count cap keeps small.
 */
export class ExposureState implements ExposureView {
  private readonly entries = new Map<number, Entry>();
  private readonly cards = new Map<string, Entry[]>();
  private readonly storedEntries = new Set<Entry>();
  private readonly storedAmounts = new Map<string, number>();
  /** undefined = unknown; recomputed on demand so forwarding never pays for a scan. */
  private oldestCache: number | null | undefined = null;
  private open: ExposureUndo | null = null;
  private undoLog: UndoRecord[] = [];
  private nextUndoId = 1;

  recordApproval(approval: ApprovalRecord): void {
    const { seq, token, currency, amountMinor, wallMs } = approval;
    const problems = approvalProblems(approval);
    if (problems.length === 0 && this.entries.has(seq)) {
      problems.push({ path: 'seq', message: 'is already recorded (seq must be unique)', value: seq });
    }
    // Past 2^53 a sum silently loses units; the caps keep real totals far below, so this is a bug upstream.
    if (problems.length === 0 && !Number.isSafeInteger((this.storedAmounts.get(currency) ?? 0) + amountMinor)) {
      problems.push({ path: 'amountMinor', message: `would push the stored ${currency} total past a safe integer`, value: amountMinor });
    }
    if (problems.length > 0) throw new BadInputError('exposure approval', problems);
    const entry: Entry = { seq, token, currency, amountMinor, wallMs, inWindow: true, stored: true };
    this.entries.set(seq, entry);
    const list = this.cards.get(token);
    if (list === undefined) this.cards.set(token, [entry]);
    else list.push(entry);
    this.addStored(entry);
    if (this.open !== null) this.undoLog.push({ kind: 'approve', entry });
  }

  /** The authorization was voided: it no longer counts anywhere. Unknown or repeated seqs are ignored. */
  recordRelease(seq: number): void {
    const entry = this.entries.get(seq);
    if (entry === undefined) return;
    let cardIndex = -1;
    if (entry.inWindow) {
      const list = this.cards.get(entry.token) as Entry[];
      // Voids usually follow their authorization closely, so search from the newest end.
      cardIndex = list.lastIndexOf(entry);
      list.splice(cardIndex, 1);
      if (list.length === 0) this.cards.delete(entry.token);
      entry.inWindow = false;
    }
    const wasStored = entry.stored;
    if (wasStored) this.removeStored(entry);
    this.entries.delete(seq);
    if (this.open !== null) this.undoLog.push({ kind: 'release', entry, cardIndex, wasStored });
  }

  /** The centre holds it now, so the node's liability ends; the card's window still counts it: the card spent it. */
  markForwarded(seq: number): void {
    const entry = this.entries.get(seq);
    if (entry === undefined || !entry.stored) return;
    this.removeStored(entry);
    if (!entry.inWindow) this.entries.delete(seq);
    if (this.open !== null) this.undoLog.push({ kind: 'forward', entry });
  }

  /**
   * Bounds memory: drops per-card history older than beforeWallMs. Unforwarded approvals stay in
   * the node totals whatever their age, since the node still owes them to the centre.
   * Returns how many approvals left the per-card windows.
   */
  prune(beforeWallMs: number): number {
    const lists: Array<readonly [string, Entry[]]> = [];
    const dropped: Entry[] = [];
    for (const [token, list] of this.cards) {
      if (!list.some((e) => e.wallMs < beforeWallMs)) continue;
      const kept: Entry[] = [];
      for (const entry of list) {
        if (entry.wallMs >= beforeWallMs) {
          kept.push(entry);
          continue;
        }
        entry.inWindow = false;
        if (!entry.stored) this.entries.delete(entry.seq);
        dropped.push(entry);
      }
      // The old list is kept untouched, so undoing is putting it back.
      lists.push([token, list]);
      if (kept.length === 0) this.cards.delete(token);
      else this.cards.set(token, kept);
    }
    if (this.open !== null && dropped.length > 0) this.undoLog.push({ kind: 'prune', lists, dropped });
    return dropped.length;
  }

  cardWindow(token: string, currency: string, sinceWallMs: number): ExposureTotals {
    const list = this.cards.get(token);
    let count = 0;
    let amountMinor = 0;
    if (list !== undefined) {
      for (const entry of list) {
        if (entry.wallMs < sinceWallMs) continue;
        count++;
        if (entry.currency === currency) amountMinor += entry.amountMinor;
      }
    }
    return { count, amountMinor };
  }

  nodeStored(currency: string): ExposureTotals {
    return { count: this.storedEntries.size, amountMinor: this.storedAmounts.get(currency) ?? 0 };
  }

  oldestUnforwardedWallMs(): number | null {
    if (this.oldestCache === undefined) {
      let oldest: number | null = null;
      for (const entry of this.storedEntries) if (oldest === null || entry.wallMs < oldest) oldest = entry.wallMs;
      this.oldestCache = oldest;
    }
    return this.oldestCache;
  }

  /** Sizes for metrics and for tests that check memory stays bounded. */
  stats(): { readonly trackedApprovals: number; readonly cards: number; readonly storedApprovals: number; readonly undoRecords: number } {
    return {
      trackedApprovals: this.entries.size,
      cards: this.cards.size,
      storedApprovals: this.storedEntries.size,
      undoRecords: this.undoLog.length,
    };
  }

  /**
   * Starts recording changes so a journal batch whose commit fails can be reverted. Only one
   * checkpoint is open at a time: the journal commits batches one after another, and an open one
   * left behind would grow the undo log for ever, so that is refused loudly.
   */
  checkpoint(): ExposureUndo {
    if (this.open !== null) {
      throw new Error('ExposureState.checkpoint: the previous checkpoint is still open; end it with commit(undo) or rollback(undo) first');
    }
    this.open = new ExposureUndo(this.nextUndoId++);
    return this.open;
  }

  /** The batch is durable: keep its changes and stop recording. */
  commit(undo: ExposureUndo): void {
    this.assertOpen(undo, 'commit');
    this.undoLog = [];
    this.open = null;
  }

  /** The batch did not commit: revert every change made since checkpoint(). */
  rollback(undo: ExposureUndo): void {
    this.assertOpen(undo, 'rollback');
    for (let i = this.undoLog.length - 1; i >= 0; i--) this.undo(this.undoLog[i] as UndoRecord);
    this.undoLog = [];
    this.open = null;
  }

  private undo(record: UndoRecord): void {
    switch (record.kind) {
      case 'approve': {
        const { entry } = record;
        const list = this.cards.get(entry.token) as Entry[];
        if (list.pop() !== entry) throw new Error(`ExposureState.rollback: undo log out of step at seq ${entry.seq}`);
        if (list.length === 0) this.cards.delete(entry.token);
        this.removeStored(entry);
        this.entries.delete(entry.seq);
        return;
      }
      case 'release': {
        const { entry, cardIndex, wasStored } = record;
        this.entries.set(entry.seq, entry);
        if (cardIndex >= 0) {
          const list = this.cards.get(entry.token);
          if (list === undefined) this.cards.set(entry.token, [entry]);
          else list.splice(cardIndex, 0, entry);
          entry.inWindow = true;
        }
        if (wasStored) this.addStored(entry);
        return;
      }
      case 'forward':
        this.entries.set(record.entry.seq, record.entry);
        this.addStored(record.entry);
        return;
      case 'prune':
        for (const [token, list] of record.lists) this.cards.set(token, list);
        for (const entry of record.dropped) {
          entry.inWindow = true;
          this.entries.set(entry.seq, entry);
        }
        return;
    }
  }

  private assertOpen(undo: ExposureUndo, operation: string): void {
    if (undo !== this.open) {
      throw new Error(`ExposureState.${operation}: checkpoint #${undo.id} is not the open one (already ended, or from another state)`);
    }
  }

  private addStored(entry: Entry): void {
    entry.stored = true;
    this.storedEntries.add(entry);
    this.storedAmounts.set(entry.currency, (this.storedAmounts.get(entry.currency) ?? 0) + entry.amountMinor);
    if (this.oldestCache === null || (this.oldestCache !== undefined && entry.wallMs < this.oldestCache)) {
      this.oldestCache = entry.wallMs;
    }
  }

  private removeStored(entry: Entry): void {
    entry.stored = false;
    this.storedEntries.delete(entry);
    this.storedAmounts.set(entry.currency, (this.storedAmounts.get(entry.currency) ?? 0) - entry.amountMinor);
    if (this.storedEntries.size === 0) this.oldestCache = null;
    else if (this.oldestCache === entry.wallMs) this.oldestCache = undefined;
  }
}

function approvalProblems(approval: ApprovalRecord): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { seq, token, amountMinor, wallMs, currency } = approval;
  if (!Number.isSafeInteger(seq) || seq < 0) problems.push({ path: 'seq', message: 'must be a whole number >= 0', value: seq });
  if (typeof token !== 'string' || token === '') problems.push({ path: 'token', message: 'must be a non-empty card token', value: token });
  if (typeof currency !== 'string' || currency === '') problems.push({ path: 'currency', message: 'must be a currency code', value: currency });
  if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0) {
    problems.push({ path: 'amountMinor', message: 'must be a whole number > 0 (minor units)', value: amountMinor });
  }
  if (!Number.isSafeInteger(wallMs)) {
    problems.push({ path: 'wallMs', message: 'must be a whole number of milliseconds since the epoch', value: wallMs });
  }
  return problems;
}
