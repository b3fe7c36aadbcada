import type { RulesConfig } from '../../rules/rules.js';
import type { SetRulesResult } from '../../node/journal-writer-protocol.js';
import type { ReplicationLog } from '../../platform/replication-log.js';

const RETRY_MS = 500;

/**
 * Hands accepted rules to the journal writer, retrying while it restarts. Only the newest rules
 * matter, so a newer set replaces one still waiting. Nothing is lost if this thread dies first: the
 * rules are already in rules-distributed.json, which a starting journal writer reads.
 */
export class RulesPusher {
  private waiting: RulesConfig | undefined;
  private sending = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deliver: (rules: RulesConfig) => Promise<SetRulesResult>,
    private readonly log: ReplicationLog,
  ) {}

  push(rules: RulesConfig): void {
    this.waiting = rules;
    this.flush();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private flush(): void {
    if (this.sending || this.stopped || this.timer !== undefined || this.waiting === undefined) return;
    const rules = this.waiting;
    this.waiting = undefined;
    this.sending = true;
    this.deliver(rules).then(
      (reply) => {
        this.sending = false;
        if (reply.applied) this.log.info({ version: reply.rulesVersion }, 'the journal writer decides with the distributed rules');
        // Benign: a restarted journal writer already read these rules from rules-distributed.json.
        else this.log.info({ offered: rules.version, inForce: reply.rulesVersion }, 'the journal writer already decides with these rules or newer');
        this.flush();
      },
      (error: unknown) => {
        this.sending = false;
        this.waiting ??= rules;
        this.log.debug({ err: error, version: rules.version }, 'journal writer unavailable for new rules; retrying');
        if (this.stopped) return;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.flush();
        }, RETRY_MS);
      },
    );
  }
}
