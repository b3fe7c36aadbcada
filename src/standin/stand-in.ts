import { cardDecline } from '../authorize/card-checks.js';
import { type Decision, systemUnavailable } from '../authorize/codes.js';
import { decideAuthorization } from '../authorize/decide.js';
import type { ExposureState } from '../authorize/exposure.js';
import type { ExposureView } from '../authorize/exposure-view.js';
import { type PeerApproval, PeerExposure, storeExposure } from '../authorize/peer-exposure.js';
import type { PeerIgnoredCounts } from '../authorize/peer-plausibility.js';
import { decideFollowUp } from '../authorize/follow-up.js';
import type { Rules } from '../rules/rules.js';
import { EdgepayError } from '../errors.js';
import { type EntryDraft, type JournalEntry, NO_CARD_BIN } from '../journal/entry.js';
import { GroupCommit, type GroupCommitOptions, type Settled } from '../journal/group-commit.js';
import type { BatchWriter, ForwardedOutcome, Journal } from '../journal/journal.js';
import { type Clock, systemClock } from '../platform/clock.js';
import { type Fingerprint, conflictWith } from './idempotency.js';
import { decideWithOnline } from './online-decision.js';
import { type Outcome, decisionOf } from './outcome.js';
import { rebuildExposure } from './rebuild.js';
import { type AuthorizationRequest, type FollowUpRequest, parseAuthorizationRequest, parseFollowUpRequest } from './requests.js';

export interface StandInOptions {
  readonly journal: Journal;
  readonly rules: Rules;
  readonly clock?: Clock;
  readonly groupCommit?: Partial<GroupCommitOptions>;
  /**
   * Runs the idle WAL checkpoint a little later. A real timer by default; a simulation passes its
   * own scheduler so that what sits in the WAL at a crash follows from the seed alone.
   */
  readonly defer?: (run: () => void, delayMs: number) => void;
  /** How far ahead of this node's clock a peer's approval may be dated and still count (peer-plausibility.ts). */
  readonly peerClockToleranceMs?: number;
}

function deferOnTimer(run: () => void, delayMs: number): void {
  setTimeout(run, delayMs).unref();
}

type Operation = { readonly type: 'authorize'; readonly request: AuthorizationRequest } | { readonly type: 'follow-up'; readonly request: FollowUpRequest };

/** Per-card windows are trimmed at most this often; pruning walks every tracked approval. */
const PRUNE_INTERVAL_MS = 60_000;
/** An idle checkpoint waits this long after the last commit, so it does not cut into a burst of payments. */
const CHECKPOINT_IDLE_MS = 5;
/** ...and runs once at least this many commits sit in the WAL: each checkpoint costs fsyncs of its own. */
const CHECKPOINT_MIN_COMMITS = 32;

/**
 * Stand-in processing: decides with the offline rules and records every decision in the journal
 * before answering. Decisions are taken inside the journal batch that records them, one after
 * another, so each sees the exposure of every decision before it, durable or in the same batch.
 * If the batch fails to commit, its exposure changes are rolled back and every request in it is
 * declined with 91: nothing is approved without a durable record.
 */
export class StandIn {
  private readonly journal: Journal;
  private readonly clock: Clock;
  private readonly exposure: ExposureState;
  /** Peers' offline approvals, counted in the card windows (P5). */
  private readonly peers: PeerExposure;
  private readonly decisionView: ExposureView;
  private readonly batches: GroupCommit<Operation, Outcome>;
  private rules: Rules;
  private lastPruneWallMs: number;
  private checkpointPending = false;
  private readonly defer: (run: () => void, delayMs: number) => void;

  private constructor(options: StandInOptions, exposure: ExposureState) {
    this.journal = options.journal;
    this.clock = options.clock ?? systemClock;
    this.rules = options.rules;
    this.defer = options.defer ?? deferOnTimer;
    this.exposure = exposure;
    // The limits are read at each use: peers are judged against the rules in force, not those at start.
    this.peers = new PeerExposure({ clock: this.clock, futureToleranceMs: options.peerClockToleranceMs, perCard: () => this.rules.perCard });
    this.decisionView = storeExposure(exposure, this.peers);
    this.lastPruneWallMs = this.clock.wallMs();
    this.batches = new GroupCommit((ops) => this.flush(ops), { ...options.groupCommit, onIdle: () => this.scheduleCheckpoint() });
  }

  /** Rebuilds exposure from the journal (the only source of truth) and starts taking requests. */
  static open(options: StandInOptions): StandIn {
    const clock = options.clock ?? systemClock;
    const exposure = rebuildExposure(options.journal, options.rules, clock.wallMs());
    return new StandIn(options, exposure);
  }

  /**
   * Resolves with the decision once its journal entry is durable (or with a 91 decline if the
   * journal cannot record it). Rejects only for a malformed request (EDGEPAY_BAD_INPUT), an
   * idempotency key reused with different content (EDGEPAY_IDEMPOTENCY_CONFLICT) or overload.
   */
  authorize(input: unknown): Promise<Outcome> {
    let request: AuthorizationRequest;
    try {
      request = parseAuthorizationRequest(input);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.batches.submit({ type: 'authorize', request });
  }

  /**
   * The card checks alone (currency, check digit, expiry, hot list) under the rules in force now:
   * the decline the offline rules would give for the card whatever the limits, or null. Asked
   * before the centre is, so a card the node declines is never sent for an online decision.
   * Rejects a malformed request as authorize does; records nothing.
   */
  checkCard(input: unknown): Decision | null {
    return cardDecline(parseAuthorizationRequest(input), this.rules, this.clock.wallMs());
  }

  /** Void, refund or capture of an earlier entry of this node, found by its idempotency key. */
  followUp(input: unknown): Promise<Outcome> {
    let request: FollowUpRequest;
    try {
      request = parseFollowUpRequest(input);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.batches.submit({ type: 'follow-up', request });
  }

  /** Replaces the rules (a new hot-card list, new limits); decisions from now on use them. */
  setRules(rules: Rules): void {
    this.rules = rules;
  }

  currentRules(): Rules {
    return this.rules;
  }

  /** The centre holds these entries: they no longer count toward the node's stored totals. */
  markForwarded(seqs: readonly number[]): void {
    this.recordForwarded(seqs.map((seq) => ({ seq, result: null, reason: null })));
  }

  /** As markForwarded, keeping what the centre said about each entry. */
  recordForwarded(outcomes: readonly ForwardedOutcome[]): void {
    this.journal.recordForwarded(outcomes);
    for (const outcome of outcomes) this.exposure.markForwarded(outcome.seq);
  }

  exposureView(): ExposureState {
    return this.exposure;
  }

  /**
   * What the store's other nodes approved offline and voided, from their replicated journals: later
   * decisions count those approvals in each card's window.
   */
  /** Peers' approvals currently counted in card windows. */
  peerApprovalCount(): number {
    return this.peers.size;
  }

  recordPeerEntries(approvals: readonly PeerApproval[], releases: readonly { origin: string; seq: number }[] = []): void {
    this.peers.recordEntries(approvals, releases);
  }

  /** Peers' approvals left out of the card windows as implausible, by reason (an alert). */
  peerApprovalsIgnored(): PeerIgnoredCounts {
    return this.peers.ignored();
  }

  /** Resolves when every accepted request has its answer. */
  idle(): Promise<void> {
    return this.batches.idle();
  }

  /**
   * Moves the WAL's checkpoint off the payment path: run between payments, it leaves the next
   * commits a reset WAL (no file growth to fsync) and keeps SQLite's own checkpoint, which runs
   * inside a commit, from ever coming due while traffic has pauses.
   */
  private scheduleCheckpoint(): void {
    if (this.checkpointPending || this.journal.uncheckpointedCommits < CHECKPOINT_MIN_COMMITS) return;
    this.checkpointPending = true;
    this.defer(() => {
      this.checkpointPending = false;
      // Busy again: the batch now waiting will reach idle and schedule the next attempt.
      if (this.batches.queued > 0) return;
      try {
        this.journal.checkpoint();
      } catch {
        // A closed journal needs none; an I/O failure is kept by the journal and fails the next batch with 91.
      }
    }, CHECKPOINT_IDLE_MS);
  }

  private flush(ops: readonly Operation[]): Settled<Outcome>[] {
    const nowWallMs = this.clock.wallMs();
    if (nowWallMs - this.lastPruneWallMs >= PRUNE_INTERVAL_MS) {
      this.exposure.prune(nowWallMs - this.rules.perCard.windowMinutes * 60_000);
      this.peers.prune(nowWallMs - this.rules.perCard.windowMinutes * 60_000);
      this.lastPruneWallMs = nowWallMs;
    }
    const undo = this.exposure.checkpoint();
    try {
      const results = this.journal.writeBatch((writer) => ops.map((op) => (op.type === 'authorize' ? this.authorizeOne(writer, op.request, nowWallMs) : this.followUpOne(writer, op.request))));
      this.exposure.commit(undo);
      return results;
    } catch (cause) {
      this.exposure.rollback(undo);
      const failure = cause instanceof EdgepayError ? cause : new EdgepayError('EDGEPAY_JOURNAL_IO', String(cause), {}, { cause });
      const decision = systemUnavailable(`the decision could not be recorded (${failure.code}); declined rather than approved without a record`);
      return ops.map(() => ({
        ok: true,
        value: { decision, entry: null, replayed: false, failure: { code: failure.code, message: failure.message } },
      }));
    }
  }

  private authorizeOne(writer: BatchWriter, request: AuthorizationRequest, nowWallMs: number): Settled<Outcome> {
    const fingerprint: Fingerprint = {
      kind: 'authorization',
      amountMinor: request.amountMinor,
      currency: request.currency,
      cardToken: request.card.token,
      refSeq: null,
    };
    const decision: Decision = request.online === undefined ? decideAuthorization(request, this.decisionView, this.rules, nowWallMs) : decideWithOnline(request, request.online, this.rules, nowWallMs);
    const { entry, existing } = writer.appendOrFind({
      kind: 'authorization',
      idempotencyKey: request.idempotencyKey,
      refSeq: null,
      lane: request.lane ?? null,
      reference: request.reference ?? null,
      amountMinor: request.amountMinor,
      currency: request.currency,
      cardToken: request.card.token,
      cardBin: NO_CARD_BIN,
      cardLast4: request.card.last4,
      sealedCard: request.card.sealed,
      decision,
    });
    if (existing) return replayOf(entry, fingerprint);
    if (decision.approved && decision.mode === 'offline') {
      this.exposure.recordApproval({
        seq: entry.seq,
        token: entry.cardToken,
        currency: entry.currency,
        amountMinor: entry.amountMinor,
        wallMs: entry.wallMs,
      });
    }
    return { ok: true, value: { decision, entry, replayed: false } };
  }

  private followUpOne(writer: BatchWriter, request: FollowUpRequest): Settled<Outcome> {
    const original = writer.findByIdempotencyKey(request.originalIdempotencyKey);
    if (!original) {
      return {
        ok: false,
        error: new EdgepayError('EDGEPAY_NOT_FOUND', `originalIdempotencyKey: no entry with key ${JSON.stringify(request.originalIdempotencyKey)} on this node`, {
          field: 'originalIdempotencyKey',
          value: request.originalIdempotencyKey,
        }),
      };
    }
    const amountMinor = request.amountMinor ?? original.amountMinor;
    const fingerprint: Fingerprint = {
      kind: request.kind,
      amountMinor,
      currency: original.currency,
      cardToken: original.cardToken,
      refSeq: original.seq,
    };
    const decision: Decision = decideFollowUp(
      request.kind,
      { kind: original.kind, approved: original.decision.approved, amountMinor: original.amountMinor, currency: original.currency },
      priorFollowUps(writer, original.seq),
      amountMinor,
      original.currency,
    );
    const draft: EntryDraft = {
      kind: request.kind,
      idempotencyKey: request.idempotencyKey,
      refSeq: original.seq,
      lane: request.lane ?? original.lane,
      reference: request.reference ?? original.reference,
      amountMinor,
      currency: original.currency,
      cardToken: original.cardToken,
      // Never the original's: an entry written before the BIN was dropped must not pass it on.
      cardBin: NO_CARD_BIN,
      cardLast4: original.cardLast4,
      sealedCard: null,
      decision,
    };
    const { entry, existing } = writer.appendOrFind(draft);
    if (existing) return replayOf(entry, fingerprint);
    if (decision.approved && request.kind === 'void') this.exposure.recordRelease(original.seq);
    return { ok: true, value: { decision, entry, replayed: false } };
  }
}

/** The key was seen before: the original answer, or a conflict if the request differs. Nothing is written. */
function replayOf(existing: JournalEntry, fingerprint: Fingerprint): Settled<Outcome> {
  const conflict = conflictWith(existing, fingerprint);
  if (conflict) return { ok: false, error: conflict };
  return { ok: true, value: { decision: decisionOf(existing), entry: existing, replayed: true } };
}

function priorFollowUps(writer: BatchWriter, seq: number): { voided: boolean; refundedMinor: number; capturedMinor: number } {
  let voided = false;
  let refundedMinor = 0;
  let capturedMinor = 0;
  for (const entry of writer.followUpsOf(seq) as JournalEntry[]) {
    if (!entry.decision.approved) continue;
    if (entry.kind === 'void') voided = true;
    else if (entry.kind === 'refund') refundedMinor += entry.amountMinor;
    else if (entry.kind === 'capture') capturedMinor += entry.amountMinor;
  }
  return { voided, refundedMinor, capturedMinor };
}
