import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { BREAKER_DEFAULTS, type Breaker, type BreakerEvent, type BreakerSettings, CLOSED, MAX_BACKOFF_LEVEL, allowsPayments, probeDelayMs, stepBreaker } from '../src/central/online-breaker.js';
import type { OnlineDecision, OnlineRequest } from '../src/central/online.js';
import { nodeConfigSchema } from '../src/config/node-config.js';
import { type NodeActorCall, nodeActorCall } from '../src/node/actor-directory.js';
import { decideDurably } from '../src/node/durable-decision.js';
import { ManualClock } from '../src/platform/clock.js';
import { SeededRandom } from '../src/platform/random.js';
import type { Timers } from '../src/platform/timers.js';
import { NOT_ASKED, type OnlineGuardOptions, OnlineGuard } from '../src/reconcile/online-guard.js';
import type { UplinkRequest } from '../src/reconcile/uplink-protocol.js';
import type { Outcome } from '../src/standin/index.js';
import { cardFacts } from './support/cards.js';
import { answerAsJournalWriter, openStandIn, rulesWith, unhandled } from './support/stand-in.js';
import { useTempDir } from './support/tmp.js';

/*
 * The circuit breaker for online authorization: the pure state machine (central/online-breaker.ts)
 * and the uplink's guard that runs it with timers and probes (reconcile/online-guard.ts).
 */

const tempDir = useTempDir('edgepay-online-breaker-');
const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const SETTINGS: BreakerSettings = { failuresToOpen: 3, probeAfterMs: 5_000 };
const ANSWER: OnlineDecision = { approved: true, code: '00', reason: 'approved by the centre' };
const ask = (key: string): OnlineRequest => ({ origin: 'box-1', store: 's', idempotencyKey: key, amountMinor: 1_000, currency: 'EUR', cardToken: 'tok', expiryYear: 2030, expiryMonth: 12, checkDigitValid: true });

// ---- the state machine -----------------------------------------------------------------------------

const anyEvent: fc.Arbitrary<BreakerEvent> = fc.constantFrom<BreakerEvent['type']>('answered', 'unanswered', 'probe-due', 'probe-answered', 'probe-unanswered').map((type) => ({ type }));
const anySettings = fc.record({ failuresToOpen: fc.integer({ min: 1, max: 6 }), probeAfterMs: fc.integer({ min: 1, max: 60_000 }) });
/** Events with the time that passed before each and the jitter drawn for it. */
const anyRun = fc.array(fc.record({ event: anyEvent, afterMs: fc.nat(200_000), jitter: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }) }), { maxLength: 80 });

function run(
  settings: BreakerSettings,
  steps: readonly { event: BreakerEvent; afterMs: number; jitter: number }[],
  visit: (before: Breaker, step: ReturnType<typeof stepBreaker>, event: BreakerEvent, nowMs: number) => void,
): Breaker {
  let breaker = CLOSED;
  let nowMs = 0;
  for (const { event, afterMs, jitter } of steps) {
    nowMs += afterMs;
    const step = stepBreaker(breaker, event, settings, nowMs, jitter);
    visit(breaker, step, event, nowMs);
    breaker = step.breaker;
  }
  return breaker;
}

describe('the breaker', () => {
  it('opens on the Nth unanswered request in a row, not before; an answer in between starts the count again', () => {
    const settings = { failuresToOpen: 3, probeAfterMs: 1_000 };
    let b = CLOSED;
    for (const type of ['unanswered', 'unanswered', 'answered', 'unanswered', 'unanswered'] as const) b = stepBreaker(b, { type }, settings, 0, 0).breaker;
    expect(b).toEqual({ state: 'closed', failures: 2, level: 0 });
    const opened = stepBreaker(b, { type: 'unanswered' }, settings, 10, 0);
    expect(opened).toEqual({ breaker: { state: 'open', level: 0, probeAtMs: 1_010 }, transition: { from: 'closed', to: 'open', event: 'unanswered' } });
    expect(allowsPayments(opened.breaker)).toBe(false);
  });

  it("probes only when the back-off is over, and closes only on the probe's answer", () => {
    const open: Breaker = { state: 'open', level: 0, probeAtMs: 5_000 };
    expect(stepBreaker(open, { type: 'probe-due' }, SETTINGS, 4_999, 0).transition).toBeUndefined();
    expect(stepBreaker(open, { type: 'answered' }, SETTINGS, 6_000, 0).transition).toBeUndefined();
    const probing = stepBreaker(open, { type: 'probe-due' }, SETTINGS, 5_000, 0);
    expect(probing.breaker).toEqual({ state: 'half_open', level: 0 });
    expect(allowsPayments(probing.breaker)).toBe(false);
    expect(stepBreaker(probing.breaker, { type: 'probe-answered' }, SETTINGS, 5_100, 0)).toEqual({
      breaker: { state: 'closed', failures: 0, level: 1 },
      transition: { from: 'half_open', to: 'closed', event: 'probe-answered' },
    });
    expect(stepBreaker(probing.breaker, { type: 'probe-unanswered' }, SETTINGS, 5_100, 0).breaker).toEqual({ state: 'open', level: 1, probeAtMs: 15_100 });
  });

  it('waits probeAfterMs x 2^level plus up to half of it, at most 8 times probeAfterMs', () => {
    expect([0, 1, 2, 3, 4, 9].map((level) => probeDelayMs(level, SETTINGS, 0))).toEqual([5_000, 10_000, 20_000, 40_000, 40_000, 40_000]);
    expect(probeDelayMs(0, SETTINGS, 0.999_999)).toBe(7_499);
    expect(() => probeDelayMs(0, SETTINGS, 1)).toThrow(RangeError);
  });

  it('property: open within N unanswered in a row; closed only after a probe was answered; payments ask only while closed', () => {
    fc.assert(
      fc.property(anySettings, anyRun, (settings, steps) => {
        let inARow = 0;
        run(settings, steps, (before, { breaker, transition }, event) => {
          if (before.state === 'closed') inARow = event.type === 'unanswered' ? inARow + 1 : event.type === 'answered' ? 0 : inARow;
          if (before.state === 'closed' && inARow >= settings.failuresToOpen) {
            expect(breaker.state).toBe('open');
            inARow = 0;
          }
          if (breaker.state !== before.state) expect(transition).toEqual({ from: before.state, to: breaker.state, event: event.type });
          else expect(transition).toBeUndefined();
          if (transition?.to === 'open' && transition.from === 'closed') expect(event.type).toBe('unanswered');
          if (transition?.to === 'closed') expect(transition).toMatchObject({ from: 'half_open', event: 'probe-answered' });
          if (transition?.to === 'half_open') expect(transition).toMatchObject({ from: 'open', event: 'probe-due' });
          expect(allowsPayments(breaker)).toBe(breaker.state === 'closed');
        });
      }),
      { numRuns: 500 },
    );
  });

  it('property: a probe is due no sooner than probeAfterMs x 2^level and no later than 1.5 times that; the level grows by one per probe, is capped, and an answered payment resets it', () => {
    fc.assert(
      fc.property(anySettings, anyRun, (settings, steps) => {
        run(settings, steps, (before, { breaker }, event, nowMs) => {
          expect(breaker.level).toBeGreaterThanOrEqual(0);
          expect(breaker.level).toBeLessThanOrEqual(MAX_BACKOFF_LEVEL);
          if (breaker.state === 'open' && before.state !== 'open') {
            const base = settings.probeAfterMs * 2 ** breaker.level;
            expect(breaker.probeAtMs - nowMs).toBeGreaterThanOrEqual(base);
            expect(breaker.probeAtMs - nowMs).toBeLessThanOrEqual(base * 1.5);
          }
          if (before.state === 'half_open' && breaker.state !== 'half_open') expect(breaker.level).toBe(Math.min(before.level + 1, MAX_BACKOFF_LEVEL));
          if (before.state === 'closed' && event.type === 'answered') expect(breaker).toEqual(CLOSED);
        });
      }),
      { numRuns: 500 },
    );
  });
});

describe('its settings', () => {
  it('default to what examples/node.yaml and docs/configuration.md state (applied by the uplink, so a configuration without them reads back as written)', () => {
    const example = parseYaml(readFileSync(new URL('../examples/node.yaml', import.meta.url), 'utf8')) as { centre: { online: Record<string, unknown> } };
    expect({ failuresToOpen: example.centre.online.failuresToOpen, probeAfterMs: example.centre.online.probeAfterMs }).toEqual(BREAKER_DEFAULTS);
    const readme = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    expect(readme).toContain(`| \`centre.online.failuresToOpen\` / \`probeAfterMs\` | ${BREAKER_DEFAULTS.failuresToOpen} / ${BREAKER_DEFAULTS.probeAfterMs} |`);
    const online = nodeConfigSchema.shape.centre.unwrap().shape.online;
    expect(online.parse({})).toEqual({ enabled: false, timeoutMs: 300 });
    expect(online.safeParse({ failuresToOpen: 0 }).success).toBe(false);
    expect(online.safeParse({ probeAfterMs: 99 }).success).toBe(false);
  });
});

// ---- the guard, on a manual clock --------------------------------------------------------------------

/** Timers on a ManualClock: advance() fires what falls due, in order, letting promises settle after each. */
class ManualTimers implements Timers {
  readonly clock = new ManualClock(Date.UTC(2026, 0, 1));
  private nowMs = 0;
  private next = 0;
  private readonly due = new Map<number, { atMs: number; callback: () => void }>();

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.next++;
    this.due.set(id, { atMs: this.nowMs + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimeout(timer: unknown): void {
    this.due.delete(timer as number);
  }

  get pending(): number {
    return this.due.size;
  }

  async advance(ms: number): Promise<void> {
    const until = this.nowMs + ms;
    for (;;) {
      const [id, first] = [...this.due.entries()].sort((a, b) => a[1].atMs - b[1].atMs || a[0] - b[0])[0] ?? [];
      if (first === undefined || first.atMs > until) break;
      this.due.delete(id!);
      this.move(first.atMs);
      first.callback();
      await settle();
    }
    this.move(until);
    await settle();
  }

  private move(toMs: number): void {
    this.clock.advance(toMs - this.nowMs);
    this.nowMs = toMs;
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

interface Rig {
  readonly guard: OnlineGuard;
  readonly timers: ManualTimers;
  /** Payments the centre was asked about. */
  readonly asked: string[];
  /** What the centre does with the next request: answer, fail at once, or never answer. */
  centre: 'answers' | 'fails' | 'hangs';
  /** Probes sent and not yet settled, oldest first; most ever in flight at once. */
  readonly probes: { settle(answered: boolean): void }[];
  readonly probesSent: () => number;
  /** Probes whose request has not settled (whether or not the guard still waits for it). */
  readonly probesInFlight: () => number;
  readonly logs: { level: string; fields: Record<string, unknown>; msg: string }[];
}

function rig(settings: BreakerSettings = SETTINGS, seed = 1, options: Partial<Pick<OnlineGuardOptions, 'probeTimeoutMs'>> = {}): Rig {
  const timers = new ManualTimers();
  let sent = 0;
  let inFlight = 0;
  const logs: Rig['logs'] = [];
  const state: Omit<Rig, 'guard'> & { guard?: OnlineGuard } = {
    timers,
    asked: [],
    centre: 'answers',
    probes: [],
    probesSent: () => sent,
    probesInFlight: () => inFlight,
    logs,
  };
  const guard = new OnlineGuard({
    settings,
    authorize: (request) => {
      state.asked.push(request.idempotencyKey);
      if (state.centre === 'answers') return Promise.resolve(ANSWER);
      if (state.centre === 'fails') return Promise.reject(new Error('not published'));
      return new Promise<never>(() => undefined);
    },
    probe: () => {
      sent++;
      inFlight++;
      return new Promise<void>((resolve, reject) => {
        let done = false;
        state.probes.push({
          settle: (answered) => {
            if (done) return;
            done = true;
            inFlight--;
            if (answered) resolve();
            else reject(new Error('no answer'));
          },
        });
      });
    },
    probeTimeoutMs: options.probeTimeoutMs ?? 10_000,
    log: { info: (fields, msg) => logs.push({ level: 'info', fields, msg }), warn: (fields, msg) => logs.push({ level: 'warn', fields, msg }) },
    clock: timers.clock,
    timers,
    random: new SeededRandom(seed),
  });
  cleanups.push(() => guard.stop());
  return Object.assign(state, { guard }) as Rig;
}

describe('the guard in the uplink', () => {
  it('after three unanswered requests answers payments at once without asking, probes after the back-off, and asks again once a probe is answered', async () => {
    const r = rig();
    r.centre = 'hangs';
    for (const key of ['a', 'b', 'c']) {
      const pending = r.guard.authorize(ask(key), 300);
      await r.timers.advance(300);
      await expect(pending).rejects.toMatchObject({ code: 'EDGEPAY_CENTRE_UNAVAILABLE' });
    }
    expect(r.guard.status()).toMatchObject({ state: 'open', failures: 0, transitions: [{ from: 'closed', to: 'open', count: 1 }] });
    expect(r.logs).toEqual([expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ breaker: 'open', failures: 3 }) })]);

    // Open: not asked, answered at once (no time passes).
    expect(await r.guard.authorize(ask('d'), 300)).toEqual(NOT_ASKED);
    expect(r.asked).toEqual(['a', 'b', 'c']);
    const { nextProbeAtMs } = r.guard.status();
    expect(nextProbeAtMs! - r.timers.clock.wallMs()).toBeGreaterThanOrEqual(5_000);

    await r.timers.advance(4_999);
    expect(r.probesSent()).toBe(0);
    await r.timers.advance(2_500);
    expect(r.probesSent()).toBe(1);
    expect(r.guard.status().state).toBe('half_open');
    expect(await r.guard.authorize(ask('e'), 300)).toEqual(NOT_ASKED);

    r.centre = 'answers';
    r.probes[0]!.settle(true);
    await settle();
    expect(r.guard.status().state).toBe('closed');
    expect(await r.guard.authorize(ask('f'), 300)).toEqual(ANSWER);
    expect(r.asked).toEqual(['a', 'b', 'c', 'f']);
    expect(r.logs.map((l) => [l.level, l.fields.breaker])).toEqual([
      ['warn', 'open'],
      ['info', 'half_open'],
      ['info', 'closed'],
    ]);
    expect(r.guard.status().transitions).toEqual([
      { from: 'closed', to: 'open', count: 1 },
      { from: 'open', to: 'half_open', count: 1 },
      { from: 'half_open', to: 'closed', count: 1 },
    ]);
  });

  it('a probe that gets no answer within its timeout opens it again for twice as long', async () => {
    const r = rig({ failuresToOpen: 1, probeAfterMs: 1_000 }, 1, { probeTimeoutMs: 2_000 });
    r.centre = 'fails';
    await expect(r.guard.authorize(ask('a'), 300)).rejects.toThrow('not published');
    await r.timers.advance(1_500);
    expect(r.probesSent()).toBe(1);
    await r.timers.advance(2_000);
    expect(r.guard.status().state).toBe('open');
    const { nextProbeAtMs } = r.guard.status();
    expect(nextProbeAtMs! - r.timers.clock.wallMs()).toBeGreaterThanOrEqual(2_000);
    expect(nextProbeAtMs! - r.timers.clock.wallMs()).toBeLessThan(3_000);
    // The late answer to the abandoned probe changes nothing.
    r.probes[0]!.settle(true);
    await settle();
    expect(r.guard.status().state).toBe('open');
  });

  it('stop() cancels the next probe', async () => {
    const r = rig({ failuresToOpen: 1, probeAfterMs: 1_000 });
    r.centre = 'fails';
    await expect(r.guard.authorize(ask('a'), 300)).rejects.toThrow();
    expect(r.timers.pending).toBe(1);
    r.guard.stop();
    expect(r.timers.pending).toBe(0);
    await r.timers.advance(60_000);
    expect(r.probesSent()).toBe(0);
  });

  type Action = { readonly kind: 'pay'; readonly centre: Rig['centre'] } | { readonly kind: 'advance'; readonly ms: number } | { readonly kind: 'probe'; readonly answered: boolean };
  const anyAction: fc.Arbitrary<Action> = fc.oneof(
    fc.constantFrom<Rig['centre']>('answers', 'fails', 'hangs').map((centre) => ({ kind: 'pay' as const, centre })),
    fc.integer({ min: 1, max: 30_000 }).map((ms) => ({ kind: 'advance' as const, ms })),
    fc.boolean().map((answered) => ({ kind: 'probe' as const, answered })),
  );

  it('property: never more than one probe in flight (one given up at its timeout included), never a payment asked unless closed', async () => {
    await fc.assert(
      fc.asyncProperty(anySettings, fc.integer(), fc.array(anyAction, { maxLength: 60 }), async (settings, seed, actions) => {
        const r = rig(settings, seed, { probeTimeoutMs: 5_000 });
        let paid = 0;
        for (const action of actions) {
          if (action.kind === 'pay') {
            r.centre = action.centre;
            const before = r.guard.status().state;
            const asked = r.asked.length;
            const answer = r.guard.authorize(ask(`p${paid++}`), 300).catch(() => 'unanswered');
            await settle();
            if (before !== 'closed') {
              expect(await answer).toEqual(NOT_ASKED);
              expect(r.asked.length).toBe(asked);
            } else expect(r.asked.length).toBe(asked + 1);
          } else if (action.kind === 'advance') await r.timers.advance(action.ms);
          else {
            r.probes.shift()?.settle(action.answered);
            await settle();
          }
          expect(r.probesInFlight()).toBeLessThanOrEqual(1);
          // Half-open: its probe is out. Probes sent: one per entry into half-open, no more.
          if (r.guard.status().state === 'half_open') expect(r.probesInFlight()).toBe(1);
          const halfOpened = r.guard
            .status()
            .transitions.filter((t) => t.to === 'half_open')
            .reduce((n, t) => n + t.count, 0);
          expect(r.probesSent()).toBe(halfOpened);
        }
        r.guard.stop();
      }),
      { numRuns: 150 },
    );
  });
});

// ---- the decision path ----------------------------------------------------------------------------------

describe('a payment the breaker kept from the centre', () => {
  /** A node's decision path whose uplink either times out or answers that the breaker is open. */
  function nodePath(uplink: 'times-out' | 'breaker-open'): { call: NodeActorCall; reversed: string[] } {
    const node = openStandIn(
      tempDir(),
      rulesWith(() => undefined),
    );
    cleanups.push(() => node.close());
    const reversed: string[] = [];
    const call = nodeActorCall(async (actorId: string, request: unknown): Promise<unknown> => {
      if (actorId === 'journal-writer') {
        const answer = answerAsJournalWriter(node.standIn, request);
        if (answer !== unhandled) return answer;
      }
      if (actorId === 'uplink') {
        const message = request as UplinkRequest;
        if (message.type === 'authorize') {
          if (uplink === 'breaker-open') return NOT_ASKED;
          throw Object.assign(new Error('no answer from the centre within 300 ms'), { code: 'EDGEPAY_CENTRE_UNAVAILABLE' });
        }
        if (message.type === 'reverse') {
          reversed.push(message.idempotencyKey);
          return { reversed: true };
        }
      }
      throw new Error(`no such request in this test: ${actorId}`);
    });
    return { call, reversed };
  }

  it('is decided and journaled exactly as one whose online request timed out, and no reversal is sent for it', async () => {
    const options = { requestTimeoutMs: 5_000, quorumTimeoutMs: undefined, online: { timeoutMs: 300, origin: 'node-test', store: 's' } };
    const card = cardFacts(1);
    const pay = (path: { call: NodeActorCall }, amountMinor: number): Promise<Outcome> =>
      decideDurably(path.call, { type: 'authorize', request: { idempotencyKey: `k-${amountMinor}`, amountMinor, currency: 'EUR', card } }, options);
    const timedOut = nodePath('times-out');
    const notAsked = nodePath('breaker-open');
    // Approved, then declined on the card's limit and over the floor limit: every decision the same either way.
    for (const amountMinor of [1_500, 4_000, 12_000, 3_000, 2_000]) {
      const [a, b] = [await pay(timedOut, amountMinor), await pay(notAsked, amountMinor)];
      expect(b.decision).toEqual(a.decision);
      expect(b.decision.mode).toBe('offline');
      // The same entry, hash chain included: nothing records that the centre was not asked.
      expect(b.entry).toEqual(a.entry);
    }
    await settle();
    expect(timedOut.reversed).toHaveLength(5);
    expect(notAsked.reversed).toEqual([]);
  });
});
