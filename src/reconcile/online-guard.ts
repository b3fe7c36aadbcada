import { type Breaker, type BreakerEvent, type BreakerSettings, type BreakerState, type BreakerTransition, CLOSED, allowsPayments, checkBreakerSettings, stepBreaker } from '../central/online-breaker.js';
import type { OnlineDecision, OnlineRequest } from '../central/online.js';
import { EdgepayError } from '../errors.js';
import { type Clock, monotonicMs, systemClock } from '../platform/clock.js';
import { type RandomSource, systemRandom } from '../platform/random.js';
import { type Timers, systemTimers } from '../platform/timers.js';

/** The answer to a payment the breaker did not let ask: the centre was not asked, so there is nothing to reverse. */
export interface OnlineNotAsked {
  readonly notAsked: 'breaker-open';
}

export const NOT_ASKED: OnlineNotAsked = { notAsked: 'breaker-open' };

export function wasNotAsked(answer: OnlineDecision | OnlineNotAsked): answer is OnlineNotAsked {
  return 'notAsked' in answer;
}

/** The breaker as /status.json and the metrics show it. */
export interface OnlineBreakerStatus {
  readonly state: BreakerState;
  /** Wall time of the last transition; null while closed since the uplink started. */
  readonly sinceMs: number | null;
  /** Closed: online requests unanswered in a row so far. */
  readonly failures: number;
  /** Open: when the next probe goes out (wall time, approximate); null otherwise. */
  readonly nextProbeAtMs: number | null;
  /** Transitions since the uplink started. */
  readonly transitions: readonly { readonly from: BreakerState; readonly to: BreakerState; readonly count: number }[];
}

/** The pino calling convention, as the uplink actor's log has it. */
type LogFn = (fields: Record<string, unknown>, msg: string) => void;

export interface OnlineGuardOptions {
  readonly settings: BreakerSettings;
  readonly authorize: (request: OnlineRequest, timeoutMs: number) => Promise<OnlineDecision>;
  /**
   * A request that changes nothing at the centre and travels the payments' way there and back
   * (over MQTT the centre's signed report of this node): it resolves when the centre answered.
   */
  readonly probe: (timeoutMs: number) => Promise<unknown>;
  /**
   * How long a probe waits. A probe asks whether the centre answers at all, not whether it answers
   * within a payment's timeout: payments that then time out open the breaker again, for longer.
   */
  readonly probeTimeoutMs: number;
  readonly log: { readonly info: LogFn; readonly warn: LogFn };
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly random?: RandomSource;
}

const JITTER_STEPS = 1_000_000;

/**
 * The breaker at work in the uplink, where every online request of the node passes (the POS API's
 * and every lane's): it answers a payment at once with NOT_ASKED while the breaker is not closed,
 * and probes the centre in the background, one probe at a time, never with a payment's request.
 * Each transition is logged once and counted.
 */
export class OnlineGuard {
  private breaker: Breaker = CLOSED;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly random: RandomSource;
  private readonly settings: BreakerSettings;
  private readonly counts = new Map<string, { from: BreakerState; to: BreakerState; count: number }>();
  private sinceMs: number | null = null;
  /** Monotonic time the breaker last opened, for how long payments went without the centre. */
  private openedAtMs: number | null = null;
  private probeTimer: unknown;
  /** The probe's own request, until it settles: a probe given up at its timeout may still be out. */
  private probeOut: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly options: OnlineGuardOptions) {
    this.settings = checkBreakerSettings(options.settings);
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? systemRandom;
  }

  /** The centre's answer within timeoutMs; NOT_ASKED at once while the breaker is open; rejects when unanswered. */
  async authorize(request: OnlineRequest, timeoutMs: number): Promise<OnlineDecision | OnlineNotAsked> {
    if (!allowsPayments(this.breaker)) return NOT_ASKED;
    let decision: OnlineDecision;
    try {
      // Bounded here too: an embedded ledger's authorization takes no timeout of its own.
      decision = await this.within(this.options.authorize(request, timeoutMs), timeoutMs, `authorization ${request.idempotencyKey}`);
    } catch (error) {
      this.apply({ type: 'unanswered' });
      throw error;
    }
    this.apply({ type: 'answered' });
    return decision;
  }

  status(): OnlineBreakerStatus {
    const b = this.breaker;
    return {
      state: b.state,
      sinceMs: this.sinceMs,
      failures: b.state === 'closed' ? b.failures : 0,
      nextProbeAtMs: b.state === 'open' ? this.clock.wallMs() + Math.max(0, b.probeAtMs - monotonicMs(this.clock)) : null,
      transitions: [...this.counts.values()].map((c) => ({ ...c })),
    };
  }

  /** No more probes; a probe in flight is left to end, and its result is dropped. */
  stop(): void {
    this.stopped = true;
    if (this.probeTimer !== undefined) this.timers.clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  private apply(event: BreakerEvent): void {
    if (this.stopped) return;
    const jitter = this.random.int(JITTER_STEPS) / JITTER_STEPS;
    const nowMs = monotonicMs(this.clock);
    const { breaker, transition } = stepBreaker(this.breaker, event, this.settings, nowMs, jitter);
    this.breaker = breaker;
    if (transition !== undefined) this.entered(transition, nowMs);
  }

  private entered(transition: BreakerTransition, nowMs: number): void {
    const key = `${transition.from}>${transition.to}`;
    const counted = this.counts.get(key) ?? { from: transition.from, to: transition.to, count: 0 };
    counted.count++;
    this.counts.set(key, counted);
    this.sinceMs = this.clock.wallMs();
    const b = this.breaker;
    if (b.state === 'open') {
      const probeInMs = Math.max(0, b.probeAtMs - nowMs);
      if (transition.from === 'closed') {
        this.openedAtMs = nowMs;
        this.options.log.warn(
          { breaker: 'open', failures: this.settings.failuresToOpen, probeInMs },
          'the centre left online requests unanswered: payments are decided offline at once, without waiting for it, until a probe gets its answer',
        );
      } else {
        this.options.log.info({ breaker: 'open', probeInMs }, 'the centre did not answer the probe; payments stay offline');
      }
      this.probeTimer = this.timers.setTimeout(() => {
        this.probeTimer = undefined;
        // Never two probes out at once: one given up at its timeout and still unsettled is waited for.
        const out = this.probeOut;
        if (out === undefined) this.apply({ type: 'probe-due' });
        else void out.finally(() => this.apply({ type: 'probe-due' }));
      }, probeInMs);
    } else if (b.state === 'half_open') {
      this.options.log.info({ breaker: 'half_open', timeoutMs: this.options.probeTimeoutMs }, 'probing the centre');
      void this.probe();
    } else {
      const offlineForMs = this.openedAtMs === null ? null : nowMs - this.openedAtMs;
      this.openedAtMs = null;
      this.options.log.info({ breaker: 'closed', offlineForMs }, 'the centre answered the probe: payments ask it online again');
    }
  }

  /**
   * The one probe: only a half-open breaker starts one, and it stays half-open until the probe is
   * answered or given up at its timeout; the next is not sent before this one's request settled.
   */
  private async probe(): Promise<void> {
    let request: Promise<unknown>;
    try {
      request = this.options.probe(this.options.probeTimeoutMs);
    } catch (error) {
      request = Promise.reject(error);
    }
    const out: Promise<void> = request
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        if (this.probeOut === out) this.probeOut = undefined;
      });
    this.probeOut = out;
    let answered: boolean;
    try {
      await this.within(request, this.options.probeTimeoutMs, 'probe');
      answered = true;
    } catch {
      answered = false;
    }
    this.apply({ type: answered ? 'probe-answered' : 'probe-unanswered' });
  }

  private within<T>(pending: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `no answer from the centre to ${what} within ${timeoutMs} ms`, { what, timeoutMs })), timeoutMs);
      pending.then(
        (value) => {
          this.timers.clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          this.timers.clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}
