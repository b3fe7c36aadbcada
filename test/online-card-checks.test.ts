import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type CardCheckInput, type Decision, cardDecline, checkCard, decideAuthorization, ExposureState } from '../src/authorize/index.js';
import { Centre } from '../src/central/centre.js';
import { generateCentreKeyPair } from '../src/central/centre-keys.js';
import { CentreService } from '../src/central/centre-service.js';
import { decodeOnlineRequest, encodeOnlineRequest } from '../src/central/centre-wire.js';
import { type OnlineDecision, type OnlineRequest, decideOnline } from '../src/central/online.js';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { Journal } from '../src/journal/journal.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { isCurrencyCode } from '../src/money/index.js';
import { type NodeActorCall, nodeActorCall } from '../src/node/actor-directory.js';
import { type DecisionPathOptions, decideDurably } from '../src/node/durable-decision.js';
import { ManualClock } from '../src/platform/clock.js';
import { MqttCentreLink } from '../src/reconcile/mqtt-centre-link.js';
import { Uplink } from '../src/reconcile/uplink.js';
import type { UplinkRequest } from '../src/reconcile/uplink-protocol.js';
import { type AuthorizationRequest, StandIn, type Outcome, decideWithOnline } from '../src/standin/index.js';
import { startBroker } from './support/brokers.js';
import { cardFacts } from './support/cards.js';
import { nodeKeys, registerKeys, signedReadsOf } from './support/signed-forwarding.js';
import { DAY_START_MS, answerAsJournalWriter, openStandIn, rulesWith, unhandled } from './support/stand-in.js';
import { useTempDir } from './support/tmp.js';

/*
 * The centre is never laxer than the box: currency, check digit, expiry and the node's hot list
 * decline a card whoever decides, offline rules or the centre online.
 */

const tempDir = useTempDir('edgepay-online-checks-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const HOT = cardFacts(900);
const RULES = rulesWith((c) => {
  c.hotCards = { version: 5, tokens: [HOT.token] };
});
const NOW = DAY_START_MS;
const GOOD_CARD: CardCheckInput['card'] = { token: 'tok-good', expiryYear: 2030, expiryMonth: 12, checkDigitValid: true };
const input = (overrides: { currency?: string; card?: Partial<CardCheckInput['card']> } = {}): CardCheckInput => ({
  currency: overrides.currency ?? 'EUR',
  card: { ...GOOD_CARD, ...overrides.card },
});
const approveAll = async (): Promise<OnlineDecision> => ({ approved: true, code: '00', reason: 'approved by a centre that approves everything' });

describe('the card checks', () => {
  it('pass a good card and hand on the accepted currency and its rules', () => {
    expect(checkCard(input(), RULES, NOW)).toEqual({ passed: true, currency: 'EUR', currencyRules: { floorLimitMinor: 5_000 } });
    expect(cardDecline(input(), RULES, NOW)).toBeNull();
  });

  it('decline with the offline codes, in the offline order: currency 57, check digit 14, expiry 54, hot list 05', () => {
    const all = { currency: 'JPY', card: { token: HOT.token, checkDigitValid: false, expiryYear: 2020, expiryMonth: 1 } };
    expect(cardDecline(input(all), RULES, NOW)).toMatchObject({ approved: false, code: '57', rule: 'currency', mode: 'offline' });
    expect(cardDecline(input({ ...all, currency: 'EUR' }), RULES, NOW)).toMatchObject({ code: '14', rule: 'check_digit', reason: 'card number fails its Luhn check digit' });
    expect(cardDecline(input({ card: { ...all.card, checkDigitValid: true } }), RULES, NOW)).toMatchObject({ code: '54', rule: 'expiry' });
    expect(cardDecline(input({ card: { token: HOT.token } }), RULES, NOW)).toMatchObject({ code: '05', rule: 'hot_card', reason: 'card is on the hot-card list (version 5)' });
  });

  it('decline an expiry that is no month at all, and a currency the rules list under an inherited name', () => {
    expect(cardDecline(input({ card: { expiryMonth: 13 } }), RULES, NOW)).toMatchObject({ code: '54', reason: 'card expiry 2030-13 is not a valid year and month' });
    expect(cardDecline(input({ currency: '__proto__' }), RULES, NOW)).toMatchObject({ code: '57' });
  });

  it('treat a check digit that is not strictly true as failed', () => {
    const card = { ...GOOD_CARD, checkDigitValid: 'yes' as unknown as boolean };
    expect(cardDecline({ currency: 'EUR', card }, RULES, NOW)).toMatchObject({ code: '14' });
  });

  it('throw for a wall time that is not whole milliseconds', () => {
    expect(() => checkCard(input(), RULES, Number.NaN)).toThrow(RangeError);
  });

  it('are what decideAuthorization decides first, with the same decision object', () => {
    for (const req of [input({ currency: 'JPY' }), input({ card: { checkDigitValid: false } }), input({ card: { expiryYear: 2025 } }), input({ card: { token: HOT.token } })]) {
      expect(decideAuthorization({ ...req, amountMinor: 100 }, new ExposureState(), RULES, NOW)).toEqual(cardDecline(req, RULES, NOW));
    }
  });
});

describe('the recorded decision for an online answer', () => {
  const approved = { approved: true, code: '00', reason: 'approved by the centre' } as const;

  it("is the centre's for a card that passes the card checks, approval or decline", () => {
    expect(decideWithOnline(input(), approved, RULES, NOW)).toEqual({ ...approved, rule: 'centre', mode: 'online' });
    expect(decideWithOnline(input(), { approved: false, code: '51', reason: 'insufficient funds' }, RULES, NOW)).toMatchObject({ approved: false, code: '51', mode: 'online' });
  });

  it("is the node's own decline for a card failing one: an online approval overrides no card check", () => {
    expect(decideWithOnline(input({ card: { token: HOT.token } }), approved, RULES, NOW)).toMatchObject({ approved: false, code: '05', rule: 'hot_card', mode: 'offline' });
    expect(decideWithOnline(input({ card: { checkDigitValid: false } }), approved, RULES, NOW)).toMatchObject({ approved: false, code: '14', mode: 'offline' });
  });
});

describe("the centre's online decision applies the card checks it can see", () => {
  const request = (overrides: Partial<OnlineRequest> = {}): OnlineRequest => ({
    origin: 'box-1',
    store: 's',
    idempotencyKey: 'k',
    amountMinor: 1_000,
    currency: 'EUR',
    cardToken: 'tok-card',
    expiryYear: 2029,
    expiryMonth: 12,
    checkDigitValid: true,
    ...overrides,
  });

  it('declines a card failing its check digit with 14, before its expiry and its standing', () => {
    expect(decideOnline(request({ checkDigitValid: false }), undefined, NOW)).toMatchObject({ approved: false, code: '14' });
    expect(decideOnline(request({ checkDigitValid: false, expiryYear: 2020 }), 'hot_listed', NOW)).toMatchObject({ approved: false, code: '14' });
    expect(decideOnline(request(), undefined, NOW)).toMatchObject({ approved: true, code: '00' });
  });

  it('declines a currency that is not an ISO 4217 code it knows with 57, first', () => {
    expect(decideOnline(request({ currency: 'XXX', checkDigitValid: false }), undefined, NOW)).toMatchObject({ approved: false, code: '57' });
    expect(decideOnline(request({ currency: 'JPY' }), undefined, NOW)).toMatchObject({ approved: true });
  });

  it('declines an expiry that is no month with 54', () => {
    expect(decideOnline(request({ expiryMonth: 0 }), undefined, NOW)).toMatchObject({ approved: false, code: '54' });
  });

  it('gets the check digit result on the wire, and refuses unread a request without it', () => {
    const wire = { correlationId: 'c-1', kind: 'authorize', request: request({ checkDigitValid: false }) } as const;
    expect(decodeOnlineRequest(encodeOnlineRequest(wire))).toEqual(wire);
    const { checkDigitValid: _dropped, ...older } = wire.request;
    expect(decodeOnlineRequest(Buffer.from(JSON.stringify({ v: 1, correlationId: 'c-2', kind: 'authorize', request: older })))).toBeUndefined();
    expect(decodeOnlineRequest(Buffer.from(JSON.stringify({ v: 1, correlationId: 'c-3', kind: 'authorize', request: { ...older, checkDigitValid: 'true' } })))).toBeUndefined();
  });
});

// ---- the node's decision path with a centre it talks to through the uplink ----------------------

type Centreside = (ask: OnlineRequest) => Promise<OnlineDecision>;

interface NodePath {
  readonly call: NodeActorCall;
  /** What the centre was asked, in order. */
  readonly asked: OnlineRequest[];
  readonly reversed: string[];
}

/**
 * The node's actors as decideDurably reaches them: the journal writer is the stand-in
 * (answering check-card as the actor does), the uplink is the given centre.
 */
function nodePath(node: { standIn: StandIn }, centre: Centreside, reverse: (key: string) => Promise<void> = async () => undefined): NodePath {
  const asked: OnlineRequest[] = [];
  const reversed: string[] = [];
  const call = async (actorId: string, request: unknown): Promise<unknown> => {
    if (actorId === 'journal-writer') {
      const answer = answerAsJournalWriter(node.standIn, request);
      if (answer !== unhandled) return answer;
    }
    if (actorId === 'uplink') {
      const message = request as UplinkRequest;
      if (message.type === 'authorize') {
        asked.push(message.request);
        return centre(message.request);
      }
      if (message.type === 'reverse') {
        reversed.push(message.idempotencyKey);
        await reverse(message.idempotencyKey);
        return { reversed: true };
      }
    }
    throw new Error(`no such request in this test: ${actorId} ${JSON.stringify(request)}`);
  };
  return { call: nodeActorCall(call), asked, reversed };
}

const pathOptions = (origin = 'node-test', store = 's'): DecisionPathOptions => ({
  requestTimeoutMs: 5_000,
  quorumTimeoutMs: undefined,
  online: { timeoutMs: 3_000, origin, store },
});

function pay(path: NodePath, request: AuthorizationRequest, options = pathOptions()): Promise<Outcome> {
  return decideDurably(path.call, { type: 'authorize', request }, options);
}

describe("the node's online path", () => {
  it('asks the centre about a good card and records its answer', async () => {
    const node = openStandIn(tempDir(), RULES);
    cleanups.push(() => node.close());
    const path = nodePath(node, approveAll);
    const outcome = await pay(path, { idempotencyKey: 'good', amountMinor: 90_000, currency: 'EUR', card: cardFacts(1) });
    expect(outcome.decision).toMatchObject({ approved: true, code: '00', mode: 'online', rule: 'centre' });
    expect(path.asked).toHaveLength(1);
    expect(path.asked[0]).toMatchObject({ idempotencyKey: 'good', checkDigitValid: true });
  });

  it("does not ask the centre about a card failing a card check: the node declines it offline with the check's code", async () => {
    const node = openStandIn(tempDir(), RULES);
    cleanups.push(() => node.close());
    const path = nodePath(node, approveAll);
    const luhn = await pay(path, { idempotencyKey: 'luhn', amountMinor: 1_000, currency: 'EUR', card: cardFacts(2, { checkDigitValid: false }) });
    const hot = await pay(path, { idempotencyKey: 'hot', amountMinor: 1_000, currency: 'EUR', card: HOT });
    const expired = await pay(path, { idempotencyKey: 'expired', amountMinor: 1_000, currency: 'EUR', card: cardFacts(3, { expiryYear: 2025 }) });
    const currency = await pay(path, { idempotencyKey: 'jpy', amountMinor: 1_000, currency: 'JPY', card: cardFacts(4) });
    expect([luhn, hot, expired, currency].map((o) => [o.decision.code, o.decision.mode, o.decision.approved, o.entry !== null])).toEqual([
      ['14', 'offline', false, true],
      ['05', 'offline', false, true],
      ['54', 'offline', false, true],
      ['57', 'offline', false, true],
    ]);
    expect(path.asked).toEqual([]);
    expect(path.reversed).toEqual([]);
  });

  it('refuses a malformed request before asking the centre', async () => {
    const node = openStandIn(tempDir(), RULES);
    cleanups.push(() => node.close());
    const path = nodePath(node, approveAll);
    await expect(pay(path, { idempotencyKey: 'bad', amountMinor: 1_000, currency: 'XXX', card: cardFacts(5) })).rejects.toMatchObject({ code: 'EDGEPAY_BAD_INPUT' });
    expect(path.asked).toEqual([]);
  });

  it("records the hot list's decline over an approval that arrived for a card hot-listed while it was in flight, and withdraws the approval", async () => {
    const node = openStandIn(tempDir(), RULES);
    cleanups.push(() => node.close());
    const card = cardFacts(6);
    const path = nodePath(node, async () => {
      node.standIn.setRules(
        rulesWith((c) => {
          c.version = 2;
          c.hotCards = { version: 6, tokens: [HOT.token, card.token] };
        }),
      );
      return approveAll();
    });
    const outcome = await pay(path, { idempotencyKey: 'raced', amountMinor: 1_000, currency: 'EUR', card });
    expect(outcome.decision).toMatchObject({ approved: false, code: '05', rule: 'hot_card', mode: 'offline' });
    expect(outcome.entry?.decision).toMatchObject({ approved: false, code: '05' });
    expect(path.asked).toHaveLength(1);
    await expect.poll(() => path.reversed).toEqual(['raced']);
  });
});

describe('property: a card failing a card check is declined by every decider', () => {
  const ACCEPTED = ['EUR', 'GBP', 'USD'];
  /** Schema-valid cards, so the node's whole path takes them; some expired, some hot, some failing Luhn. */
  const failingCard = fc
    .record({
      currency: fc.constantFrom(...ACCEPTED, 'JPY', 'CHF'),
      hot: fc.boolean(),
      n: fc.nat(10_000),
      checkDigitValid: fc.boolean(),
      expiryYear: fc.integer({ min: 2020, max: 2032 }),
      expiryMonth: fc.integer({ min: 1, max: 12 }),
      amountMinor: fc.integer({ min: 1, max: 500_000 }),
    })
    .map(({ hot, n, currency, amountMinor, ...facts }) => ({ currency, amountMinor, card: hot ? { ...HOT, ...facts } : cardFacts(n, facts) }))
    .filter((req) => cardDecline(req, RULES, NOW) !== null);

  it("offline rules, the node's online path with a centre approving everything or the real centre, and the centre for what it can see", async () => {
    const node = openStandIn(tempDir(), RULES, new ManualClock(NOW));
    cleanups.push(() => node.close());
    const lax = nodePath(node, approveAll);
    const real = nodePath(node, async (ask) => decideOnline(ask, undefined, NOW));
    let serial = 0;
    await fc.assert(
      fc.asyncProperty(failingCard, async (req) => {
        const expected = cardDecline(req, RULES, NOW) as Decision;
        expect(expected.approved).toBe(false);
        expect(decideAuthorization(req, new ExposureState(), RULES, NOW)).toEqual(expected);
        for (const path of [lax, real]) {
          const outcome = await pay(path, { ...req, idempotencyKey: `p-${serial++}` });
          expect(outcome.decision).toEqual(expected);
        }
        // Handed an online approval anyway, the node records its own decline.
        const forced = await node.standIn.authorize({ ...req, idempotencyKey: `p-${serial++}`, online: { approved: true, code: '00', reason: 'approved' } });
        expect(forced.decision).toEqual(expected);
        // The centre sees the check digit, the expiry and whether it knows the currency; the node's hot list is the node's.
        const ask: OnlineRequest = {
          origin: 'node-test',
          store: 's',
          idempotencyKey: 'k',
          amountMinor: req.amountMinor,
          currency: req.currency,
          cardToken: req.card.token,
          expiryYear: req.card.expiryYear,
          expiryMonth: req.card.expiryMonth,
          checkDigitValid: req.card.checkDigitValid,
        };
        if (expected.rule === 'check_digit' || expected.rule === 'expiry') expect(decideOnline(ask, undefined, NOW)).toMatchObject({ approved: false, code: expected.code });
      }),
      { numRuns: 60 },
    );
    expect(lax.asked).toEqual([]);
    expect(real.asked).toEqual([]);
  }, 120_000);

  it('the centre alone declines any currency it does not know, any card failing its check digit and any expired card', () => {
    fc.assert(
      fc.property(
        fc.record({
          currency: fc.oneof(fc.constantFrom('EUR', 'JPY', 'XXX', 'ABC', 'EUX'), fc.stringMatching(/^[A-Z]{3}$/)),
          checkDigitValid: fc.boolean(),
          expiryYear: fc.integer({ min: 2000, max: 2099 }),
          expiryMonth: fc.integer({ min: 1, max: 12 }),
          nowMs: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
        }),
        ({ currency, checkDigitValid, expiryYear, expiryMonth, nowMs }) => {
          const decision = decideOnline({ origin: 'o', store: 's', idempotencyKey: 'k', amountMinor: 1, currency, cardToken: 't', expiryYear, expiryMonth, checkDigitValid }, undefined, nowMs);
          const expired = Date.UTC(expiryYear, expiryMonth, 1) <= nowMs;
          const code = !isCurrencyCode(currency) ? '57' : !checkDigitValid ? '14' : expired ? '54' : '00';
          expect(decision).toMatchObject({ approved: code === '00', code });
        },
      ),
    );
  });
});

// ---- the real centre on a real Mosquitto ------------------------------------------------------

describe('online authorization against the centre over Mosquitto', () => {
  it("a Luhn-failing card is declined 14 and nothing is settled for it; a card on the node's hot list gets no online approval though the centre would approve", async () => {
    const dir = tempDir();
    const users = { 'box-1': 'pw-box-1', 'edgepay-centre': 'pw-centre' };
    const broker = await startBroker('mosquitto', dir, users, { fleet: 'f', store: 's' });
    cleanups.push(() => broker.stop());
    const centreKey = generateCentreKeyPair();
    const keys = nodeKeys(['box-1']);
    const ledger = SqliteLedger.open(join(dir, 'centre.db'));
    await registerKeys(ledger, 's', keys);
    const service = await CentreService.start({
      centre: new Centre({ backend: ledger, forwardDeadlineHours: 72 }),
      fleet: 'f',
      brokerUrl: broker.url,
      username: 'edgepay-centre',
      password: 'pw-centre',
      clientId: 'centre-a',
      logger: pino({ level: 'silent' }),
      signingKey: centreKey.privateKey,
    });
    cleanups.push(async () => {
      await service.stop().catch(() => undefined);
      await ledger.close();
    });
    const link = await MqttCentreLink.open({ brokerUrl: broker.url, username: 'box-1', password: 'pw-box-1', fleet: 'f', store: 's', node: 'box-1', answerTimeoutMs: 5_000, centreKey: centreKey.publicKey });
    cleanups.push(() => link.close());

    // The node box-1 on the wall clock: the centre decides and signs on its own.
    const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: 'box-1' });
    const node = { journal, standIn: StandIn.open({ journal, rules: RULES }) };
    cleanups.push(async () => {
      await node.standIn.idle();
      journal.close();
    });
    const raced = cardFacts(12);
    const path = nodePath(
      node,
      async (ask) => {
        const decision = await link.authorize(ask, 5_000);
        // The node's hot list gains this card while the centre's approval is on its way back.
        if (ask.idempotencyKey === 'raced') {
          node.standIn.setRules(
            rulesWith((c) => {
              c.version = 2;
              c.hotCards = { version: 6, tokens: [HOT.token, raced.token] };
            }),
          );
        }
        return decision;
      },
      (key) => link.reverse('box-1', key, 5_000),
    );
    const options = pathOptions('box-1', 's');
    const card = (n: number, overrides = {}) => cardFacts(n, { expiryYear: 2099, ...overrides });

    const good = await pay(path, { idempotencyKey: 'good', amountMinor: 80_000, currency: 'EUR', card: card(10) }, options);
    const luhn = await pay(path, { idempotencyKey: 'luhn', amountMinor: 80_000, currency: 'EUR', card: card(11, { checkDigitValid: false }) }, options);
    const hot = await pay(path, { idempotencyKey: 'hot', amountMinor: 2_000, currency: 'EUR', card: { ...HOT, expiryYear: 2099 } }, options);
    const racedOutcome = await pay(path, { idempotencyKey: 'raced', amountMinor: 2_000, currency: 'EUR', card: { ...raced, expiryYear: 2099 } }, options);

    expect(good.decision).toMatchObject({ approved: true, code: '00', mode: 'online' });
    expect(luhn.decision).toMatchObject({ approved: false, code: '14', rule: 'check_digit', mode: 'offline' });
    expect(hot.decision).toMatchObject({ approved: false, code: '05', rule: 'hot_card', mode: 'offline' });
    expect(racedOutcome.decision).toMatchObject({ approved: false, code: '05', rule: 'hot_card', mode: 'offline' });
    expect(path.asked.map((a) => a.idempotencyKey)).toEqual(['good', 'raced']);
    // The centre would approve the hot-listed card: it is not on the centre's own list.
    expect(await link.authorize({ ...path.asked[0]!, idempotencyKey: 'probe', cardToken: HOT.token, amountMinor: 2_000 }, 5_000)).toMatchObject({ approved: true, code: '00' });
    await link.reverse('box-1', 'probe', 5_000);

    expect(await ledger.onlineStatus('box-1', 'good')).toBe('approved');
    expect(await ledger.onlineStatus('box-1', 'luhn')).toBeUndefined();
    expect(await ledger.onlineStatus('box-1', 'hot')).toBeUndefined();
    await expect.poll(() => ledger.onlineStatus('box-1', 'raced'), { timeout: 10_000 }).toBe('reversed');

    // Forwarded: only the good card's sale is settled; the declines are recorded and move no money.
    const reader = new JournalReader(journal.path, 'box-1');
    cleanups.push(() => reader.close());
    const uplink = new Uplink({
      origin: 'box-1',
      store: 's',
      journal: {
        headSeq: () => node.journal.chainHead().seq,
        read: signedReadsOf(reader, keys.get('box-1')!),
        firstUnforwardedSeq: () => reader.firstUnforwardedSeq(),
        record: async (o) => node.standIn.recordForwarded(o),
      },
      centre: link,
      batchSize: 25,
    });
    expect(await uplink.drain()).toMatchObject({ entriesSent: 4, settled: 1, recorded: 3, exceptions: 0 });
    const held = new Map((await ledger.heldEntries('box-1', 1, 10)).map((e) => [e.seq, e.result]));
    expect(held.get(good.entry!.seq)).toBe('settled');
    expect(held.get(luhn.entry!.seq)).toBe('recorded');
    expect(held.get(hot.entry!.seq)).toBe('recorded');
    expect(held.get(racedOutcome.entry!.seq)).toBe('recorded');
    const [origin] = await ledger.originReports();
    expect(origin).toMatchObject({ entries: 4, settled: 1, merchantMinor: { EUR: 80_000 } });
  }, 60_000);
});
