import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ANSWER_VALIDITY_MS, type AnswerScope, type CentreAnswer, type SignedCentreAnswer, signAnswer, verifyAnswerSignature } from '../src/central/answer-signature.js';
import { totalsOf } from '../src/central/batch.js';
import { Centre } from '../src/central/centre.js';
import { CENTRE_SIGNING_PUBLIC_KEY_FILE, generateCentreKeyPair } from '../src/central/centre-keys.js';
import { connectCentreClient } from '../src/central/centre-mqtt-client.js';
import { CentreService } from '../src/central/centre-service.js';
import { answerTopic, authorizeTopic, uplinkTopic } from '../src/central/centre-topics.js';
import { decodeCentreAnswer, encodeCentreAnswer } from '../src/central/centre-wire.js';
import type { OnlineRequest } from '../src/central/online.js';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { withLuhnDigit } from '../src/card/luhn.js';
import type { ErrorCode } from '../src/errors.js';
import { Journal } from '../src/journal/journal.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { ManualClock } from '../src/platform/clock.js';
import { type Asked, checkAnswer } from '../src/reconcile/answer-check.js';
import { MqttCentreLink } from '../src/reconcile/mqtt-centre-link.js';
import { Uplink } from '../src/reconcile/uplink.js';
import { peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import { startBroker } from './support/brokers.js';
import { authorizationDraft } from './support/drafts.js';
import { newNodeConfigIn } from './support/node.js';
import { nodeKeys, registerKeys, signedReadsOf } from './support/signed-forwarding.js';
import { useTempDir } from './support/tmp.js';

/*
 * A node believes an answer on its `centre` topic only if the centre's pinned key signed it, for
 * exactly what the node asked, and it has not expired. The attackers here hold broker passwords
 * (a node's own, which may write under that node's level, its centre topic included; or the
 * centre's user) but not the centre's key, against a real Mosquitto with the shipped ACL.
 */

const tempDir = useTempDir('edgepay-answer-signatures-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const CENTRE = generateCentreKeyPair();
const IMPOSTOR = generateCentreKeyPair();
const SCOPE: AnswerScope = { fleet: 'f', store: 's' };
const NODE = 'box-1';
const USERS = { 'box-1': 'pw-box-1', 'box-2': 'pw-box-2', 'edgepay-centre': 'pw-centre' };
const NODE_KEYS = nodeKeys([NODE]);
const silent = pino({ level: 'silent' });

const onlineRequest = (idempotencyKey: string, amountMinor = 2_500): OnlineRequest => ({
  origin: NODE,
  store: 's',
  idempotencyKey,
  amountMinor,
  currency: 'EUR',
  cardToken: 'tok-card',
  expiryYear: 2029,
  expiryMonth: 12,
  checkDigitValid: true,
});

function onlineAnswer(correlationId: string, request: OnlineRequest, overrides: Partial<Extract<CentreAnswer, { kind: 'online' }>> = {}): Extract<CentreAnswer, { kind: 'online' }> {
  const { idempotencyKey, amountMinor, currency, cardToken } = request;
  return {
    kind: 'online',
    correlationId,
    node: NODE,
    asked: { idempotencyKey, amountMinor, currency, cardToken },
    online: { approved: true, code: '00', reason: 'approved by the centre' },
    expiresMs: Date.now() + ANSWER_VALIDITY_MS,
    ...overrides,
  };
}

function journalOf(dir: string, entries: number): { journal: Journal; reader: JournalReader } {
  const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: NODE });
  for (let i = 0; i < entries; i++) journal.append(authorizationDraft({ amountMinor: 100 + i, idempotencyKey: `${NODE}-${i}` }));
  const reader = new JournalReader(journal.path, NODE);
  cleanups.push(() => {
    reader.close();
    journal.close();
  });
  return { journal, reader };
}

// ---- the signature itself -------------------------------------------------------------------------

type Path = readonly (string | number)[];

/** Every leaf (string, number, boolean, null) of a value, by its path. */
function leaves(value: unknown, path: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [path];
  return Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, Array.isArray(value) ? Number(key) : key]));
}

function at(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((v, key) => (v as Record<string | number, unknown>)[key], value);
}

function setAt(value: unknown, path: Path, leaf: unknown): void {
  const parent = at(value, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1]!] = leaf;
}

/** One bit of a leaf flipped: a character's, a number's (as a 53-bit integer), a boolean; null becomes a string. */
function flipped(leaf: unknown, index: number, bit: number): unknown {
  if (typeof leaf === 'boolean') return !leaf;
  if (typeof leaf === 'number') return Number(BigInt(leaf) ^ (1n << BigInt(bit % 53)));
  if (typeof leaf === 'string') {
    const i = index % leaf.length;
    return leaf.slice(0, i) + String.fromCharCode(leaf.charCodeAt(i) ^ (1 << (bit % 7))) + leaf.slice(i + 1);
  }
  return '';
}

const text = fc.string({ minLength: 1, maxLength: 10 });
const whole = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const answers: fc.Arbitrary<CentreAnswer> = fc.oneof(
  fc.record({
    kind: fc.constant('online' as const),
    correlationId: text,
    node: text,
    asked: fc.record({ idempotencyKey: text, amountMinor: whole, currency: text, cardToken: text }),
    online: fc.record({ approved: fc.boolean(), code: text, reason: text }),
    expiresMs: whole,
  }),
  fc.record({ kind: fc.constant('reversal' as const), correlationId: text, node: text, idempotencyKey: text, expiresMs: whole }),
  fc.record({
    kind: fc.constant('batch' as const),
    correlationId: text,
    node: text,
    answer: fc.oneof(
      fc.record({
        ok: fc.constant(true as const),
        batchId: text,
        origin: text,
        headSeq: whole,
        outcomes: fc.array(
          fc.record({
            seq: whole,
            result: fc.constantFrom('settled' as const, 'exception' as const, 'recorded' as const),
            reason: fc.option(text, { nil: null }),
            merchantMinor: fc.integer({ min: -(2 ** 50), max: 2 ** 50 }),
          }),
          { maxLength: 4 },
        ),
        totals: fc.record({ count: whole, sumsMinor: fc.dictionary(fc.constantFrom('EUR', 'USD', 'CHF'), whole, { maxKeys: 3 }) }),
      }),
      fc.record({ ok: fc.constant(false as const), batchId: text, origin: text, headSeq: whole, error: fc.record({ code: text.map((c) => c as ErrorCode), message: text }) }),
    ),
    expiresMs: whole,
  }),
  fc.record({
    kind: fc.constant('report' as const),
    correlationId: text,
    node: text,
    origin: text,
    report: fc.option(
      fc.record({
        origin: text,
        store: text,
        headSeq: whole,
        entries: whole,
        settled: whole,
        exceptions: whole,
        recorded: whole,
        sumsMinor: fc.dictionary(fc.constantFrom('EUR', 'USD', 'JPY'), whole, { maxKeys: 3 }),
        merchantMinor: fc.dictionary(fc.constantFrom('EUR', 'USD', 'JPY'), fc.integer({ min: -(2 ** 50), max: 2 ** 50 }), { maxKeys: 3 }),
      }),
      { nil: null },
    ),
    expiresMs: whole,
  }),
);

describe("the centre's answer signature", () => {
  it('one 88-character signature per answer, verified through the wire; an unsigned answer of the old version does not even decode', () => {
    const request = onlineRequest('k-1');
    const signed = signAnswer(SCOPE, onlineAnswer('c-1', request), CENTRE.privateKey);
    expect(signed.sig).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    const decoded = decodeCentreAnswer(encodeCentreAnswer(signed));
    expect(decoded).toEqual(signed);
    expect(verifyAnswerSignature(SCOPE, decoded!, CENTRE.publicKey)).toBe(true);
    expect(verifyAnswerSignature(SCOPE, decoded!, IMPOSTOR.publicKey)).toBe(false);
    expect(verifyAnswerSignature({ fleet: 'f', store: 'other-store' }, decoded!, CENTRE.publicKey)).toBe(false);

    const reversal = signAnswer(SCOPE, { kind: 'reversal', correlationId: 'c-2', node: NODE, idempotencyKey: 'k-1', expiresMs: 1 }, CENTRE.privateKey);
    expect(decodeCentreAnswer(encodeCentreAnswer(reversal))).toEqual(reversal);
    // The bytes of a reversal never verify as another kind of answer with the same fields.
    expect(verifyAnswerSignature(SCOPE, { ...signed, sig: reversal.sig }, CENTRE.publicKey)).toBe(false);

    expect(decodeCentreAnswer(Buffer.from(JSON.stringify({ v: 1, correlationId: 'c-1', online: { approved: true, code: '00', reason: 'x' } })))).toBeUndefined();
    expect(decodeCentreAnswer(Buffer.from(JSON.stringify({ ...JSON.parse(encodeCentreAnswer(signed).toString()), sig: 'A'.repeat(88) })))).toBeUndefined();
  });

  it('property: flipping any bit of any bound field (or of the signature, or the scope) fails verification', () => {
    fc.assert(
      fc.property(fc.record({ fleet: text, store: text }), answers, fc.nat(), fc.nat(), fc.nat(), (scope, answer, which, index, bit) => {
        const signed = signAnswer(scope, answer, CENTRE.privateKey);
        expect(verifyAnswerSignature(scope, signed, CENTRE.publicKey)).toBe(true);
        // Every field of the message but its kind (the shape) and the signature is bound, and the scope with it.
        const original = { scope, answer: signed };
        const bound = leaves(original).filter((path) => !(path[0] === 'answer' && (path[1] === 'kind' || path[1] === 'sig')));
        const path = bound[which % bound.length]!;
        const mutated = structuredClone(original);
        setAt(mutated, path, flipped(at(original, path), index, bit));
        expect(verifyAnswerSignature(mutated.scope, mutated.answer, CENTRE.publicKey)).toBe(false);

        const sig = Buffer.from(signed.sig, 'base64');
        sig[index % 64]! ^= 1 << (bit % 8);
        expect(verifyAnswerSignature(scope, { ...signed, sig: sig.toString('base64') }, CENTRE.publicKey)).toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  it('the currencies of the totals are bound too, not only their sums', () => {
    const answer: CentreAnswer = {
      kind: 'batch',
      correlationId: 'c',
      node: NODE,
      answer: { ok: true, batchId: 'b', origin: NODE, headSeq: 1, outcomes: [{ seq: 1, result: 'settled', reason: null, merchantMinor: 5 }], totals: { count: 1, sumsMinor: { EUR: 5 } } },
      expiresMs: 1,
    };
    const signed = signAnswer(SCOPE, answer, CENTRE.privateKey);
    const renamed = { ...signed, answer: { ...answer.answer, totals: { count: 1, sumsMinor: { USD: 5 } } } } as SignedCentreAnswer;
    expect(verifyAnswerSignature(SCOPE, renamed, CENTRE.publicKey)).toBe(false);
  });

  it('a node takes a genuine answer only for what it asked under that id, and only until it expires', () => {
    const dir = tempDir();
    const { reader } = journalOf(dir, 3);
    const entries = reader.read(1, 3);
    const batch = { batchId: `${NODE}:1-3`, store: 's', origin: NODE, sender: NODE, entries, totals: totalsOf(entries), signature: Buffer.alloc(64) };
    const now = Date.now();
    const to = { ...SCOPE, node: NODE };
    const request = onlineRequest('k-1');
    const online: Asked = { kind: 'online', request };
    const verdict = (answer: CentreAnswer, asked: Asked, key = CENTRE) => {
      const result = checkAnswer(signAnswer(SCOPE, answer, key.privateKey), asked, to, CENTRE.publicKey, now);
      return result.ok ? 'ok' : result.reason;
    };

    expect(verdict(onlineAnswer('c', request), online)).toBe('ok');
    expect(verdict(onlineAnswer('c', request), online, IMPOSTOR)).toBe('bad_signature');
    expect(verdict(onlineAnswer('c', request, { node: 'box-2' }), online)).toBe('mismatch');
    for (const other of [{ idempotencyKey: 'k-2' }, { amountMinor: 1 }, { currency: 'USD' }, { cardToken: 'tok-other' }]) {
      expect(verdict(onlineAnswer('c', { ...request, ...other }), online)).toBe('mismatch');
    }
    expect(verdict(onlineAnswer('c', request, { expiresMs: now }), online)).toBe('expired');
    expect(verdict({ kind: 'reversal', correlationId: 'c', node: NODE, idempotencyKey: 'k-1', expiresMs: now + 1 }, online)).toBe('mismatch');
    expect(verdict({ kind: 'reversal', correlationId: 'c', node: NODE, idempotencyKey: 'k-1', expiresMs: now + 1 }, { kind: 'reversal', idempotencyKey: 'k-1' })).toBe('ok');
    expect(verdict({ kind: 'reversal', correlationId: 'c', node: NODE, idempotencyKey: 'k-9', expiresMs: now + 1 }, { kind: 'reversal', idempotencyKey: 'k-1' })).toBe('mismatch');

    const outcomes = entries.map((e) => ({ seq: e.seq, result: 'settled' as const, reason: null, merchantMinor: e.amountMinor }));
    const taken = (over: Partial<{ batchId: string; origin: string; outcomes: typeof outcomes }> = {}): CentreAnswer => ({
      kind: 'batch',
      correlationId: 'c',
      node: NODE,
      answer: { ok: true, batchId: batch.batchId, origin: NODE, headSeq: 3, outcomes, totals: batch.totals, ...over },
      expiresMs: now + 1,
    });
    const asked: Asked = { kind: 'batch', batch };
    expect(verdict(taken(), asked)).toBe('ok');
    expect(verdict(taken({ batchId: `${NODE}:1-2` }), asked)).toBe('mismatch');
    expect(verdict(taken({ origin: 'box-2' }), asked)).toBe('mismatch');
    expect(verdict(taken({ outcomes: outcomes.slice(0, 2) }), asked)).toBe('mismatch');
    expect(verdict(taken({ outcomes: outcomes.map((o, i) => (i === 2 ? { ...o, seq: 4 } : o)) }), asked)).toBe('mismatch');
    expect(verdict({ ...taken(), expiresMs: now - 1 }, asked)).toBe('expired');
  });
});

// ---- over Mosquitto ---------------------------------------------------------------------------------

async function mosquitto(): Promise<string> {
  const broker = await startBroker('mosquitto', tempDir(), USERS, SCOPE);
  cleanups.push(() => broker.stop());
  return broker.url;
}

async function nodeLink(url: string, timeoutMs: number, clock?: ManualClock): Promise<MqttCentreLink> {
  const link = await MqttCentreLink.open({
    brokerUrl: url,
    username: NODE,
    password: USERS[NODE],
    fleet: 'f',
    store: 's',
    node: NODE,
    answerTimeoutMs: timeoutMs,
    centreKey: CENTRE.publicKey,
    ...(clock === undefined ? {} : { clock }),
  });
  cleanups.push(() => link.close());
  return link;
}

/** Another MQTT client with someone's broker password, listening where it may. */
async function client(url: string, username: keyof typeof USERS, filter: string, onMessage: (payload: Buffer) => void): Promise<MqttClient> {
  const mqtt = await connectCentreClient(
    { brokerUrl: url, clientId: `${username}-other-${Math.random().toString(36).slice(2)}`, username, password: USERS[username], filters: filter, onError: () => undefined },
    (_topic, payload) => onMessage(payload),
  );
  cleanups.push(() => mqtt.endAsync(true));
  return mqtt;
}

async function startCentre(url: string, dir: string): Promise<CentreService & { readonly ledger: SqliteLedger }> {
  const ledger = SqliteLedger.open(join(dir, 'centre.db'));
  await registerKeys(ledger, 's', NODE_KEYS);
  const service = await CentreService.start({
    centre: new Centre({ backend: ledger, forwardDeadlineHours: 72 }),
    fleet: 'f',
    brokerUrl: url,
    username: 'edgepay-centre',
    password: USERS['edgepay-centre'],
    clientId: `centre-${Math.random().toString(36).slice(2)}`,
    logger: silent,
    signingKey: CENTRE.privateKey,
  });
  cleanups.push(async () => {
    await service.stop().catch(() => undefined);
    await ledger.close();
  });
  return Object.assign(service, { ledger });
}

const CENTRE_TOPIC = answerTopic('f', 's', NODE);

describe("the centre's signed report of a node (reconcile status over MQTT)", () => {
  it("the centre answers a report request with its counts and sums of the asking node; a forged or another node's report is no answer, and counted", async () => {
    const url = await mosquitto();
    const dir = tempDir();
    const centre = await startCentre(url, dir);
    const link = await nodeLink(url, 3_000);
    // Nothing held yet: a signed "nothing", not a silence.
    expect((await link.askReport(3_000)).report).toBeNull();
    const { journal, reader } = journalOf(dir, 4);
    const uplink = new Uplink({
      origin: NODE,
      store: 's',
      journal: { headSeq: () => journal.chainHead().seq, read: signedReadsOf(reader, NODE_KEYS.get(NODE)!), firstUnforwardedSeq: () => reader.firstUnforwardedSeq(), record: async (o) => journal.recordForwarded(o) },
      centre: link,
      batchSize: 10,
    });
    await uplink.drain();
    const answer = await link.askReport(3_000);
    expect(answer).toMatchObject({ kind: 'report', node: NODE, origin: NODE, report: { origin: NODE, store: 's', entries: 4, settled: 4, sumsMinor: { EUR: 100 + 101 + 102 + 103 } } });
    expect(await centre.ledger.originReport(NODE)).toEqual(answer.report);

    // The centre stops; with the centre's broker password, a forger answers every report request.
    await centre.stop();
    const genuineOther = signAnswer(SCOPE, { ...answer, origin: 'box-2', report: { ...answer.report!, origin: 'box-2' }, correlationId: 'x' }, CENTRE.privateKey);
    const forger = await client(url, 'edgepay-centre', authorizeTopic('f', 's', NODE), (payload) => {
      const { correlationId } = JSON.parse(payload.toString()) as { correlationId: string };
      const inflated = { ...answer, correlationId, expiresMs: Date.now() + ANSWER_VALIDITY_MS, report: { ...answer.report!, entries: 999 } };
      void forger.publishAsync(CENTRE_TOPIC, encodeCentreAnswer(signAnswer(SCOPE, inflated, IMPOSTOR.privateKey)), { qos: 1 });
      // Signed by the centre, but another node's totals, moved under this request's id (re-signed: the forger cannot).
      void forger.publishAsync(CENTRE_TOPIC, encodeCentreAnswer({ ...genuineOther, correlationId }), { qos: 1 });
    });
    await expect(link.askReport(800)).rejects.toMatchObject({ code: 'EDGEPAY_CENTRE_UNAVAILABLE' });
    expect(link.rejectedAnswers).toMatchObject({ bad_signature: 2 });
    // A correlation id not of the report form, or one reused while its request waits, is refused before anything is sent.
    await expect(link.askReport(800, 'batch#x')).rejects.toMatchObject({ code: 'EDGEPAY_BAD_INPUT' });
  }, 30_000);

  it('a genuine report of another origin under the asked id is a mismatch, not a match', () => {
    const report = { origin: 'box-2', store: 's', headSeq: 3, entries: 3, settled: 3, exceptions: 0, recorded: 0, sumsMinor: { EUR: 30 }, merchantMinor: { EUR: 30 } };
    const now = Date.now();
    const other = signAnswer(SCOPE, { kind: 'report', correlationId: 'c', node: NODE, origin: 'box-2', report, expiresMs: now + 1_000 }, CENTRE.privateKey);
    expect(checkAnswer(other, { kind: 'report', origin: NODE }, { ...SCOPE, node: NODE }, CENTRE.publicKey, now)).toMatchObject({ ok: false, reason: 'mismatch' });
    const mine = signAnswer(SCOPE, { kind: 'report', correlationId: 'c', node: NODE, origin: NODE, report: { ...report, origin: NODE }, expiresMs: now + 1_000 }, CENTRE.privateKey);
    expect(checkAnswer(mine, { kind: 'report', origin: NODE }, { ...SCOPE, node: NODE }, CENTRE.publicKey, now)).toEqual({ ok: true });
    expect(checkAnswer(mine, { kind: 'report', origin: NODE }, { ...SCOPE, node: NODE }, CENTRE.publicKey, now + 1_000)).toMatchObject({ ok: false, reason: 'expired' });
    expect(checkAnswer(mine, { kind: 'batch', batch: { batchId: 'b', origin: NODE } as never }, { ...SCOPE, node: NODE }, CENTRE.publicKey, now)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(decodeCentreAnswer(encodeCentreAnswer(mine))).toEqual(mine);
  });
});

describe('signed centre answers over Mosquitto', () => {
  it("a forged online approval on the node's centre topic, with the node's or the centre's broker password, is no answer: the authorization times out and each is counted", async () => {
    const url = await mosquitto();
    const link = await nodeLink(url, 5_000);
    for (const user of ['box-1', 'edgepay-centre'] as const) {
      const forger = await client(url, user, authorizeTopic('f', 's', NODE), (payload) => {
        const asked = JSON.parse(payload.toString()) as { correlationId: string; request: OnlineRequest };
        // Everything right but the key: the impostor's signature over the exact binding.
        void forger.publishAsync(CENTRE_TOPIC, encodeCentreAnswer(signAnswer(SCOPE, onlineAnswer(asked.correlationId, asked.request), IMPOSTOR.privateKey)), { qos: 1 });
        // And the unsigned answer of old, which nodes used to believe.
        void forger.publishAsync(CENTRE_TOPIC, Buffer.from(JSON.stringify({ v: 1, correlationId: asked.correlationId, online: { approved: true, code: '00', reason: 'approved' } })), { qos: 1 });
      });
    }
    const started = Date.now();
    await expect(link.authorize(onlineRequest('forged-1'), 800)).rejects.toMatchObject({ code: 'EDGEPAY_CENTRE_UNAVAILABLE' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(790);
    // The node's own password can neither read its requests nor write its answers (brokers/acl.template):
    // only the forgeries made with the centre's password reach the node, and its signature check.
    expect(link.rejectedAnswers).toEqual({ malformed: 1, unsolicited: 0, bad_signature: 1, mismatch: 0, expired: 0 });
  }, 30_000);

  it('a node whose only answer is a forged approval decides offline, and its metrics count the forgery', async () => {
    const dir = tempDir();
    const url = await mosquitto();
    writeFileSync(join(dir, 'box-1.pw'), `${USERS[NODE]}\n`);
    writeFileSync(join(dir, CENTRE_SIGNING_PUBLIC_KEY_FILE), CENTRE.publicKeyPem);
    const keys = provisionNodeKeys(join(dir, 'keys'), [NODE]);
    const config = await newNodeConfigIn(tempDir(), {
      nodeId: NODE,
      replication: { fleet: 'f', store: 's', brokerUrl: url, username: NODE, passwordFile: join(dir, 'box-1.pw'), signingKeyFile: keys[0]!.signingKeyFile, peers: peersOf(NODE, keys) },
      centre: { store: 's', intervalMs: 60_000, answerTimeoutMs: 1_000, online: { enabled: true, timeoutMs: 400 }, signingPublicKeyFile: join(dir, CENTRE_SIGNING_PUBLIC_KEY_FILE) },
    });
    const forger = await client(url, 'edgepay-centre', authorizeTopic('f', 's', NODE), (payload) => {
      const asked = JSON.parse(payload.toString()) as { correlationId: string; kind: string; request?: OnlineRequest };
      if (asked.request === undefined) return;
      void forger.publishAsync(CENTRE_TOPIC, encodeCentreAnswer(signAnswer(SCOPE, onlineAnswer(asked.correlationId, asked.request), IMPOSTOR.privateKey)), { qos: 1 });
    });
    const registry = new Registry();
    const node = await NodeRuntime.start({ config, registry });
    cleanups.push(() => node.stop());

    const paid = await node.pay({ idempotencyKey: 'p-1', amountMinor: 1_500, currency: 'EUR', card: { pan: withLuhnDigit('400000000000001'), expiryYymm: '2912' } });
    expect(paid.decision).toMatchObject({ approved: true, code: 'Y3', mode: 'offline' });
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/edgepay_centre_answers_rejected_total\{reason="bad_signature"\} [1-9]/);
    // The centre comes up: the node's retried reversal of that key reaches it and its signed answer ends the retries.
    const centre = await startCentre(url, dir);
    await expect.poll(() => centre.ledger.onlineStatus(NODE, 'p-1'), { timeout: 15_000 }).toBe('reversed');
  }, 60_000);

  it("a forged batch answer marks nothing forwarded; the centre's own answer later does", async () => {
    const dir = tempDir();
    const url = await mosquitto();
    const { journal, reader } = journalOf(dir, 5);
    const link = await nodeLink(url, 2_000);
    const forger = await client(url, 'edgepay-centre', uplinkTopic('f', 's', NODE), (payload) => {
      const sent = JSON.parse(payload.toString()) as {
        correlationId: string;
        batchId: string;
        origin: string;
        entries: { seq: number; amountMinor: number }[];
        totals: { count: number; sumsMinor: Record<string, number> };
      };
      const outcomes = sent.entries.map((e) => ({ seq: e.seq, result: 'settled' as const, reason: null, merchantMinor: e.amountMinor }));
      const answer = { ok: true as const, batchId: sent.batchId, origin: sent.origin, headSeq: sent.entries[sent.entries.length - 1]!.seq, outcomes, totals: sent.totals };
      void forger.publishAsync(
        CENTRE_TOPIC,
        encodeCentreAnswer(signAnswer(SCOPE, { kind: 'batch', correlationId: sent.correlationId, node: NODE, answer, expiresMs: Date.now() + ANSWER_VALIDITY_MS }, IMPOSTOR.privateKey)),
        { qos: 1 },
      );
    });
    const uplink = new Uplink({
      origin: NODE,
      store: 's',
      journal: {
        headSeq: () => reader.headSeq(),
        read: signedReadsOf(reader, NODE_KEYS.get(NODE)!),
        firstUnforwardedSeq: () => reader.firstUnforwardedSeq(),
        record: async () => expect.fail('nothing may be recorded from a forged answer'),
      },
      centre: link,
      batchSize: 10,
    });
    await expect(uplink.drain()).rejects.toMatchObject({ code: 'EDGEPAY_CENTRE_UNAVAILABLE' });
    expect(reader.firstUnforwardedSeq()).toBe(1);
    expect(link.rejectedAnswers.bad_signature).toBe(1);

    // The centre comes up: the batch goes again, the forger answers again, and only the centre's answer is taken.
    await startCentre(url, dir);
    const genuine = new Uplink({
      origin: NODE,
      store: 's',
      journal: { headSeq: () => reader.headSeq(), read: signedReadsOf(reader, NODE_KEYS.get(NODE)!), firstUnforwardedSeq: () => reader.firstUnforwardedSeq(), record: async (o) => journal.recordForwarded(o) },
      centre: link,
      batchSize: 10,
    });
    expect(await genuine.drain()).toMatchObject({ batches: 1, settled: 5, headSeq: 5 });
    expect(reader.firstUnforwardedSeq()).toBeUndefined();
    expect(link.rejectedAnswers.bad_signature).toBe(2);
  }, 30_000);

  it('a replayed genuine answer is refused, as it was and moved onto the new request', async () => {
    const dir = tempDir();
    const url = await mosquitto();
    const link = await nodeLink(url, 5_000);
    const heard: Buffer[] = [];
    await client(url, 'box-1', CENTRE_TOPIC, (payload) => heard.push(payload));
    const centre = await startCentre(url, dir);
    expect(await link.authorize(onlineRequest('replayed'), 5_000)).toMatchObject({ approved: true, code: '00' });
    await expect.poll(() => heard.length).toBe(1);
    await centre.stop();

    // The same payment asked again (a retry): the attacker answers it with the centre's earlier answer.
    const genuine = heard[0]!;
    const replayer = await client(url, 'edgepay-centre', authorizeTopic('f', 's', NODE), (payload) => {
      const { correlationId } = JSON.parse(payload.toString()) as { correlationId: string };
      void replayer.publishAsync(CENTRE_TOPIC, genuine, { qos: 1 });
      void replayer.publishAsync(CENTRE_TOPIC, Buffer.from(JSON.stringify({ ...JSON.parse(genuine.toString()), correlationId })), { qos: 1 });
    });
    await expect(link.authorize(onlineRequest('replayed'), 800)).rejects.toMatchObject({ code: 'EDGEPAY_CENTRE_UNAVAILABLE' });
    expect(link.rejectedAnswers).toMatchObject({ unsolicited: 1, bad_signature: 1 });
  }, 30_000);

  it("the centre's own signature is not enough: its answer to another amount under the node's correlation id is no answer", async () => {
    const dir = tempDir();
    const url = await mosquitto();
    const link = await nodeLink(url, 5_000);
    // Holding the node's password, the attacker asks the centre about a smaller amount under the node's correlation id.
    const captured: Buffer[] = [];
    // (The node's password cannot read its own requests: the capture here uses the centre's.)
    await client(url, 'edgepay-centre', authorizeTopic('f', 's', NODE), (payload) => captured.push(payload));
    const attacker = await client(url, 'box-1', CENTRE_TOPIC, () => undefined);
    const pending = link.authorize(onlineRequest('swapped', 9_900), 3_000);
    await expect.poll(() => captured.length).toBe(1);
    await startCentre(url, dir);
    const asked = JSON.parse(captured[0]!.toString()) as { request: OnlineRequest };
    await attacker.publishAsync(authorizeTopic('f', 's', NODE), Buffer.from(JSON.stringify({ ...asked, request: { ...asked.request, amountMinor: 100 } })), { qos: 1 });
    await expect(pending).rejects.toMatchObject({ code: 'EDGEPAY_CENTRE_UNAVAILABLE' });
    expect(link.rejectedAnswers).toMatchObject({ mismatch: 1, bad_signature: 0 });
    // Asked straight, the same centre is believed.
    expect(await link.authorize(onlineRequest('straight'), 3_000)).toMatchObject({ approved: true, code: '00' });
  }, 30_000);

  it('an expired answer is refused: a node whose clock reads past the expiry (an answer held back that long on the way)', async () => {
    const dir = tempDir();
    const url = await mosquitto();
    await startCentre(url, dir);
    const clock = new ManualClock(Date.now() + ANSWER_VALIDITY_MS + 5_000);
    const link = await nodeLink(url, 5_000, clock);
    await expect(link.authorize(onlineRequest('late'), 1_500)).rejects.toMatchObject({ code: 'EDGEPAY_CENTRE_UNAVAILABLE' });
    expect(link.rejectedAnswers).toMatchObject({ expired: 1, bad_signature: 0, mismatch: 0 });
    // The clock put right, the centre's next answer is taken.
    clock.setWallMs(Date.now());
    expect(await link.authorize(onlineRequest('in-time'), 3_000)).toMatchObject({ approved: true, code: '00' });
  }, 30_000);
});
