import type { KeyObject } from 'node:crypto';
import type { RulesConfig } from './rules.js';
import type { ReplicationLog } from '../platform/replication-log.js';
import { RULES_REJECT_REASONS, type RulesRejectReason, type RulesScope, openRulesMessage } from './message.js';
import { readDistributedRules, writeDistributedRules } from './store.js';

export interface RulesReceiverOptions {
  readonly scope: RulesScope;
  readonly publicKey: KeyObject;
  /** `<dataDir>/rules-distributed.json`. */
  readonly file: string;
  /** The version of the node's configured rules (its rules file, or the defaults). */
  readonly configuredVersion: number;
  readonly log: ReplicationLog;
  /** Accepted and persisted rules, for the journal writer. */
  readonly onAccepted: (rules: RulesConfig) => void;
}

export const RULES_COUNTERS = ['rules_accepted', 'rules_rejected', 'rules_stale', 'rules_unchanged'] as const;
export type RulesCounterName = (typeof RULES_COUNTERS)[number];
export type RulesCounterSnapshot = Readonly<Record<RulesCounterName, number>>;

export interface RulesStatus {
  /** The rules version in force as this node knows it: configured or distributed, whichever is newer. */
  readonly version: number;
  /** The version of the last distributed rules accepted (now or before a restart); null if none. */
  readonly distributedVersion: number | null;
  readonly counters: RulesCounterSnapshot;
  readonly rejectedBy: Readonly<Record<RulesRejectReason, number>>;
}

/**
 * Takes rules messages from the store's retained rules topic. A message is applied only if it
 * verifies with the rules key, passes parseRules and carries a version above the one in force, so
 * a replayed or re-published older message never rolls a node back. It is persisted before it is
 * counted as accepted, and `receive` runs before the PUBACK: a message that could not be written
 * comes again. The same message again (the retained copy on every reconnect) is only 'unchanged'.
 */
export class RulesReceiver {
  private version: number;
  private distributedVersion: number | null = null;
  private lastPayload: Buffer | undefined;
  private readonly counters = new Map<RulesCounterName, number>();
  private readonly rejected = new Map<RulesRejectReason, number>();

  constructor(private readonly options: RulesReceiverOptions) {
    this.version = options.configuredVersion;
    const stored = readDistributedRules(options.file, options.scope, options.publicKey);
    if (stored === undefined) return;
    if (!stored.ok) {
      options.log.warn({ file: options.file, reason: stored.reason, detail: stored.detail }, 'ignoring the stored distributed rules: they do not verify');
      return;
    }
    this.distributedVersion = stored.rules.version;
    this.version = Math.max(this.version, stored.rules.version);
    this.lastPayload = stored.payload;
  }

  receive(payload: Buffer): void {
    // An empty retained message only clears the topic; the rules in force stay.
    if (payload.byteLength === 0) return;
    const { log, scope, publicKey } = this.options;
    const opened = openRulesMessage(payload, scope, publicKey);
    if (!opened.ok) {
      this.count('rules_rejected');
      this.rejected.set(opened.reason, (this.rejected.get(opened.reason) ?? 0) + 1);
      log.warn({ reason: opened.reason, detail: opened.detail }, 'rejected a rules message');
      return;
    }
    const version = opened.rules.version;
    if (version <= this.version) {
      if (this.lastPayload?.equals(payload)) return this.count('rules_unchanged');
      this.count('rules_stale');
      log.warn({ version, inForce: this.version }, 'ignored a rules message: its version is not above the rules in force');
      return;
    }
    writeDistributedRules(this.options.file, payload);
    this.version = version;
    this.distributedVersion = version;
    this.lastPayload = payload;
    this.count('rules_accepted');
    log.info({ version, hotCardsVersion: opened.rules.hotCards.version, hotCards: opened.rules.hotCards.tokens.size }, 'accepted distributed rules');
    this.options.onAccepted(opened.config);
  }

  status(): RulesStatus {
    return {
      version: this.version,
      distributedVersion: this.distributedVersion,
      counters: rulesCounterSnapshot((name) => this.counters.get(name) ?? 0),
      rejectedBy: Object.fromEntries(RULES_REJECT_REASONS.map((reason) => [reason, this.rejected.get(reason) ?? 0])) as Record<RulesRejectReason, number>,
    };
  }

  private count(name: RulesCounterName): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + 1);
  }
}

export function rulesCounterSnapshot(value: (name: RulesCounterName) => number): RulesCounterSnapshot {
  return Object.fromEntries(RULES_COUNTERS.map((name) => [name, value(name)])) as Record<RulesCounterName, number>;
}
