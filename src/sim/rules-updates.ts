import type { KeyObject } from 'node:crypto';
import { type RandomSource, between } from '../platform/random.js';
import { encodeRulesMessage } from '../rules/message.js';
import type { RulesConfig } from '../rules/rules.js';
import type { StoreTopics } from '../wire/topics.js';
import type { SimNetwork } from './network.js';
import type { SimScheduler } from './scheduler.js';

/** The centre's connection to the store's broker, as `edgepay rules publish` makes it. */
const PUBLISHER = 'edgepay-rules';
const RETRY_MS = 1_000;

/**
 * The centre's rules updates during the trading: a few new versions, each hot-listing one more
 * card token, signed with the rules key and published retained on the store's rules topic, as
 * `edgepay rules publish` does. A publish that fails (the broker down) is tried again every
 * second, and a newer version replaces an older one still waiting. `latest` is the version every
 * node must end up deciding with, whatever crashed, was cut off or lost its disk meanwhile.
 */
export class SimRulesUpdates {
  private published = 0;
  private waiting: { readonly version: number; readonly payload: Buffer } | undefined;
  /** One publish at a time: a connection of its own while it lasts. */
  private busy = false;
  private scheduled = 0;

  constructor(
    private readonly options: {
      readonly scheduler: SimScheduler;
      readonly network: SimNetwork;
      readonly random: RandomSource;
      readonly topics: StoreTopics;
      readonly scope: { readonly fleet: string; readonly store: string };
      readonly rulesKey: KeyObject;
      /** The rules every node is configured with: version 1. */
      readonly configured: RulesConfig;
    },
  ) {}

  /** The newest version the broker acknowledged so far; the configured one before any. */
  get latest(): number {
    return Math.max(this.published, this.options.configured.version);
  }

  /** The last version scheduled: every node must end up deciding with it. */
  get target(): number {
    return this.options.configured.version + this.scheduled;
  }

  /** Schedules `count` updates at random moments within the next `withinMs`. */
  schedule(count: number, withinMs: number): void {
    const { scheduler, random, configured } = this.options;
    const before = this.scheduled;
    this.scheduled += count;
    const moments = Array.from({ length: count }, () => between(random, 0, withinMs)).sort((a, b) => a - b);
    moments.forEach((atMs, n) => {
      // The k-th update of the run: version k above the configured one, hot-listing k tokens.
      const k = before + n + 1;
      const version = configured.version + k;
      const tokens = Array.from({ length: k }, (_, i) => `sim-hot-${i + 1}`);
      const rules: RulesConfig = { ...configured, version, hotCards: { version: configured.hotCards.version + k, tokens } };
      scheduler.after(atMs, () => this.offer(version, encodeRulesMessage(rules, this.options.scope, this.options.rulesKey)));
    });
  }

  private offer(version: number, payload: Buffer): void {
    if (this.waiting === undefined || this.waiting.version < version) this.waiting = { version, payload };
    this.publish();
  }

  private publish(): void {
    const waiting = this.waiting;
    if (waiting === undefined || this.busy) return;
    this.busy = true;
    const { network, topics, scheduler } = this.options;
    const port = network.attach(PUBLISHER, [], () => undefined);
    port.publish(topics.rules(), waiting.payload, { qos: 1, retain: true }).then(
      () => {
        network.detach(PUBLISHER);
        this.busy = false;
        this.published = Math.max(this.published, waiting.version);
        if (this.waiting === waiting) this.waiting = undefined;
        this.publish();
      },
      () => {
        network.detach(PUBLISHER);
        scheduler.after(RETRY_MS, () => {
          this.busy = false;
          this.publish();
        });
      },
    );
  }
}
