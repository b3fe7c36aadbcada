import { mkdirSync, rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { paymentsPathOf } from '../src/config/node-config.js';
import { type ApiAnswer, type LaneStore, displaysOf, startLaneStore, transactionsOf } from './support/lane-store.js';
import { eventually, sleep } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

/*
 * One idempotency key, one decision, one journal entry: concurrent requests with one key on a
 * real node whose lanes have reader firmware on real pty pairs. Every answer each client got,
 * every reader's display, the journal and GET must tell the same story.
 */

const tempDir = useTempDir();
const stores: LaneStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

async function laneStore(laneCount: number, cards: string | ((lane: number) => string)): Promise<LaneStore> {
  const store = await startLaneStore(tempDir(), laneCount, cards);
  stores.push(store);
  return store;
}

interface Body {
  readonly lane: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly reference: string;
  readonly idempotencyKey: string;
}

const sameBody = (a: Body, b: Body) => a.lane === b.lane && a.amountMinor === b.amountMinor && a.currency === b.currency && a.reference === b.reference;

/** How one client's request differs from the first client's: not at all, or in one field. */
const variant = fc.constantFrom('same', 'same', 'amount', 'reference');
const client = fc.record({ lane: fc.integer({ min: 0, max: 2 }), variant, offsetMs: fc.integer({ min: 0, max: 40 }) });

describe('one idempotency key, one decision, one journal entry', () => {
  it('N clients (1-10) sending one key to random lanes, same or different bodies, at random offsets: answers, displays, journal and GET agree', async () => {
    const store = await laneStore(3, 'good');
    let trial = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(client, { minLength: 1, maxLength: 10 }), async (clients) => {
        trial++;
        const key = `k-${trial}`;
        const base = { amountMinor: 1_000 + trial, currency: 'EUR', reference: `receipt-${trial}`, idempotencyKey: key };
        const bodies: Body[] = clients.map((c) => ({
          ...base,
          lane: store.lanes[c.lane]!.id,
          amountMinor: c.variant === 'amount' ? base.amountMinor + 1 : base.amountMinor,
          reference: c.variant === 'reference' ? `${base.reference}-other` : base.reference,
        }));
        const displaysBefore = store.lanes.map((lane) => displaysOf(lane).length);
        const startsBefore = store.lanes.map((lane) => transactionsOf(lane).length);
        const answers: ApiAnswer[] = await Promise.all(
          clients.map(async (c, i) => {
            await sleep(c.offsetMs);
            return store.call('POST', '/v1/payments', bodies[i]);
          }),
        );

        // Every answer is the payment or a refusal of a different request; nothing else.
        const paid = answers.map((answer, i) => ({ answer, body: bodies[i]! })).filter(({ answer }) => answer.status === 200 || answer.status === 201);
        for (const { answer } of answers.map((answer, i) => ({ answer, body: bodies[i]! }))) {
          expect([200, 201, 409], JSON.stringify(answer.json)).toContain(answer.status);
          if (answer.status === 409) expect(answer.json.error.code).toBe('EDGEPAY_IDEMPOTENCY_CONFLICT');
        }
        expect(paid.length).toBeGreaterThan(0);
        expect(paid.filter(({ answer }) => answer.status === 201)).toHaveLength(1);
        const winner = paid.find(({ answer }) => answer.status === 201)!;
        for (const { answer, body } of paid) {
          expect(sameBody(body, winner.body)).toBe(true);
          expect(answer.json).toEqual(winner.answer.json);
          if (answer.status === 200) expect(answer.headers.get('idempotent-replayed')).toBe('true');
        }
        // A request that is the winner's own is joined, never refused; every other one is refused.
        answers.forEach((answer, i) => expect(answer.status === 409).toBe(!sameBody(bodies[i]!, winner.body)));

        const payment = winner.answer.json;
        expect(payment).toMatchObject({ id: key, lane: winner.body.lane, amountMinor: winner.body.amountMinor, reference: winner.body.reference });
        expect(['approved', 'declined']).toContain(payment.status);
        // The journal holds exactly the one entry behind the answer, on the winner's lane.
        const entries = store.journalEntries(key);
        expect(entries).toHaveLength(1);
        expect(entries[0]).toMatchObject({ seq: payment.journalSeq, lane: winner.body.lane, amountMinor: winner.body.amountMinor, reference: winner.body.reference });
        expect(entries[0]!.decision.approved).toBe(payment.status === 'approved');
        // GET answers as every client was answered.
        const got = await store.call('GET', `/v1/payments/${key}`);
        expect(got.status).toBe(200);
        expect(got.json).toEqual(payment);

        // Only the winner's reader was started, once, and it shows the journal's decision; no other reader moved.
        const winnerLane = store.lanes.findIndex((lane) => lane.id === winner.body.lane);
        const shown = await eventually(() => (displaysOf(store.lanes[winnerLane]!).length > displaysBefore[winnerLane]! ? displaysOf(store.lanes[winnerLane]!) : undefined), 5_000, 'the result on the reader');
        expect(shown.slice(displaysBefore[winnerLane]!)).toEqual([expect.stringContaining(`showing ${payment.status === 'approved' ? 'APPROVED' : 'DECLINED'} (${payment.decision.code})`)]);
        store.lanes.forEach((lane, i) => {
          expect(transactionsOf(lane).length - startsBefore[i]!).toBe(i === winnerLane ? 1 : 0);
          expect(displaysOf(lane).length - displaysBefore[i]!).toBe(i === winnerLane ? 1 : 0);
        });
      }),
      { numRuns: 30 },
    );
  }, 240_000);

  it("a key taken by a payment is refused for a void or refund, and a void's key for a payment, before any reader starts", async () => {
    const store = await laneStore(1, 'good');
    const lane = store.lanes[0]!;
    const body = { lane: lane.id, amountMinor: 700, currency: 'EUR', reference: 'r-1', idempotencyKey: 'p-1' };
    expect((await store.call('POST', '/v1/payments', body)).json.status).toBe('approved');
    const voidWithPaymentKey = await store.call('POST', '/v1/payments/p-1/void', { idempotencyKey: 'p-1' });
    expect(voidWithPaymentKey.status).toBe(409);
    expect(voidWithPaymentKey.json.error).toMatchObject({ code: 'EDGEPAY_IDEMPOTENCY_CONFLICT', message: expect.stringContaining('payment "p-1"') });
    expect((await store.call('POST', '/v1/payments/p-1/void', { idempotencyKey: 'v-1' })).status).toBe(201);
    const starts = transactionsOf(lane).length;
    const paymentWithVoidKey = await store.call('POST', '/v1/payments', { ...body, idempotencyKey: 'v-1' });
    expect(paymentWithVoidKey.status).toBe(409);
    expect(paymentWithVoidKey.json.error).toMatchObject({ code: 'EDGEPAY_IDEMPOTENCY_CONFLICT', message: expect.stringContaining('a void (journal entry 2)') });
    expect((await store.call('GET', '/v1/payments/v-1')).status).toBe(404);
    await sleep(200);
    expect(transactionsOf(lane).length).toBe(starts);
    expect(store.journalEntries('v-1')).toHaveLength(1);
  });
});

describe('a payment that cannot be recorded does not start', () => {
  it("the lanes' record failing refuses the payment with 503 before its reader starts, and the key stays free", async () => {
    const store = await laneStore(1, 'good');
    const lane = store.lanes[0]!;
    const body = { lane: lane.id, amountMinor: 900, currency: 'EUR', reference: 'r-io', idempotencyKey: 'io-1' };
    // A directory where the record's file should be: every open of it fails, as a dead disk would.
    const path = paymentsPathOf(store.config);
    mkdirSync(path);
    const starts = transactionsOf(lane).length;
    const refused = await store.call('POST', '/v1/payments', body);
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('EDGEPAY_JOURNAL_IO');
    expect(refused.headers.get('retry-after')).toBe('1');
    await sleep(200);
    expect(transactionsOf(lane).length).toBe(starts);
    rmSync(path, { recursive: true });
    const taken = await store.call('POST', '/v1/payments', body);
    expect(taken.status).toBe(201);
    expect(taken.json.status).toBe('approved');
  });
});

describe('every answer a POS can be told replays for its key after a restart', () => {
  it('cancelled, failed and approved payments answer the same after a restart, GET agrees, and no reader is started for them', async () => {
    const store = await laneStore(3, (lane) => ['no-card', 'no-card', 'good'][lane]!);
    const [cancelLane, unplugLane, goodLane] = store.lanes as [LaneStoreLane, LaneStoreLane, LaneStoreLane];
    const body = (lane: LaneStoreLane, key: string) => ({ lane: lane.id, amountMinor: 1_500, currency: 'EUR', reference: `r-${key}`, idempotencyKey: key });

    const waiting = store.call('POST', '/v1/payments', body(cancelLane, 'c-1'));
    await eventually(async () => ((await store.call('GET', '/v1/payments/c-1')).json.status === 'waiting_for_card' ? true : undefined), 5_000, 'the card wait');
    expect((await store.call('POST', '/v1/payments/c-1/cancel')).json.status).toBe('cancelled');
    const cancelled = (await waiting).json;
    expect(cancelled).toMatchObject({ status: 'cancelled', error: { code: 'EDGEPAY_READER_CANCELLED' } });

    const unplugged = store.call('POST', '/v1/payments', body(unplugLane, 'f-1'));
    await eventually(async () => ((await store.call('GET', '/v1/payments/f-1')).json.status === 'waiting_for_card' ? true : undefined), 5_000, 'the card wait');
    await unplugLane.pty.kill();
    const failed = (await unplugged).json;
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'EDGEPAY_READER_LOST' } });

    const approved = (await store.call('POST', '/v1/payments', body(goodLane, 'a-1'))).json;
    expect(approved.status).toBe('approved');

    await unplugLane.replug('good');
    await store.restart();
    const startsBefore = store.lanes.map((lane) => transactionsOf(lane).length);

    for (const [lane, key, before] of [
      [cancelLane, 'c-1', cancelled],
      [unplugLane, 'f-1', failed],
      [goodLane, 'a-1', approved],
    ] as const) {
      const replay = await store.call('POST', '/v1/payments', body(lane, key));
      expect(replay.status, key).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.json).toMatchObject({ id: key, status: before.status, error: before.error, journalSeq: before.journalSeq, decision: before.decision });
      expect((await store.call('GET', `/v1/payments/${key}`)).json).toEqual(replay.json);
      const changed = await store.call('POST', '/v1/payments', { ...body(lane, key), amountMinor: 1_501 });
      expect(changed.status).toBe(409);
      expect(changed.json.error.code).toBe('EDGEPAY_IDEMPOTENCY_CONFLICT');
    }
    await sleep(200);
    store.lanes.forEach((lane, i) => expect(transactionsOf(lane).length).toBe(startsBefore[i]));
    expect(store.journalEntries('c-1')).toEqual([]);
    expect(store.journalEntries('f-1')).toEqual([]);
    expect(store.journalEntries('a-1')).toHaveLength(1);
  }, 60_000);
});

type LaneStoreLane = LaneStore['lanes'][number];
